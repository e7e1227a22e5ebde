// The README's Apollo Client and urql set-ups, run against a live server.
// usage: node checks/client-setups.mjs <http url> <token> <instanceId> <contactId> <audio file>
// Prints "READY" once its subscriptions are asked for; the caller then makes a message arrive.
// Prints one JSON line with what each client saw, and exits.
import { readFile } from "node:fs/promises";
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "@urql/core";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [API, accessToken, instanceId, contactId, audioPath] = process.argv.slice(2);
const headers = () => ({ Authorization: `Bearer ${accessToken}` });
const ws = createClient({
  url: API.replace(/^http/, "ws"),
  webSocketImpl: WebSocket,
  connectionParams: () => headers(),
});

const isSubscription = ({ query }) => {
  const d = getMainDefinition(query);
  return d.kind === "OperationDefinition" && d.operation === "subscription";
};
// As the README shows: subscriptions over the websocket, the rest (uploads too) over HTTP;
// and a second client whose subscriptions go over HTTP (Apollo's multipart protocol).
const cache = () => new InMemoryCache({
  typePolicies: {
    Query: { fields: { messages: { keyArgs: ["contactId"] }, contacts: { keyArgs: ["instanceId", "type", "search", "status", "assignee", "assigneeId", "label"] } } },
  },
});
const apollo = new ApolloClient({
  cache: cache(),
  link: ApolloLink.split(isSubscription, new GraphQLWsLink(ws),
                         new UploadHttpLink({ uri: API, headers: headers() })),
});
const apolloHttp = new ApolloClient({ cache: cache(), link: new HttpLink({ uri: API, headers: headers() }) });
const urql = new Client({
  url: API,
  fetchOptions: () => ({ headers: headers() }),
  exchanges: [cacheExchange, fetchExchange, subscriptionExchange({
    forwardSubscription(operation) {
      const input = { ...operation, query: operation.query || "" };
      return { subscribe: (sink) => ({ unsubscribe: ws.subscribe(input, sink) }) };
    },
  })],
});

const EVENTS = `subscription Events($instanceId: ID!) {
  messageEvents(instanceId: $instanceId) { seq kind message { id textContent } } }`;
const seen = {};
const firstEvent = (name, observable) => new Promise((resolve, reject) => {
  const sub = observable.subscribe({
    next: (result) => {
      const event = (result.data ?? result)?.messageEvents;
      if (event?.message?.textContent) { seen[name] = event.message.textContent; sub.unsubscribe(); resolve(); }
    },
    error: (e) => reject(new Error(`${name}: ${e?.message ?? JSON.stringify(e)}`)),
  });
});
const timeout = (ms) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out; saw ${JSON.stringify(seen)}`)), ms));

const viewer = await apollo.query({ query: gql`{ viewer { id role } }` });
seen.apolloQuery = viewer.data.viewer.role;
const page = await apollo.query({
  query: gql`query($c: ID!) { messages(contactId: $c, first: 5) { edges { node { id textContent } } pageInfo { hasNextPage endCursor } } }`,
  variables: { c: contactId },
});
seen.apolloMessages = page.data.messages.edges.length;
const urqlViewer = await urql.query(`{ viewer { role } }`, {}).toPromise();
if (urqlViewer.error) throw urqlViewer.error;
seen.urqlQuery = urqlViewer.data.viewer.role;

const audio = new Blob([await readFile(audioPath)], { type: "audio/ogg" });
const sent = await apollo.mutate({
  mutation: gql`mutation($i: ID!, $c: ID!, $audio: Upload!) {
    sendMessage(input: { instanceId: $i, contactId: $c, messageType: AUDIO, audio: $audio }) { id messageType status } }`,
  variables: { i: instanceId, c: contactId, audio },
});
seen.apolloUpload = `${sent.data.sendMessage.messageType} ${sent.data.sendMessage.status}`;

const variables = { instanceId };
const waits = [
  firstEvent("apolloWebsocket", apollo.subscribe({ query: gql(EVENTS), variables })),
  firstEvent("apolloMultipart", apolloHttp.subscribe({ query: gql(EVENTS), variables })),
  firstEvent("urqlWebsocket", { subscribe: (observer) => urql.subscription(EVENTS, variables).subscribe((r) => {
    if (r.error) observer.error(r.error); else observer.next(r);
  }) }),
];
// The caller waits until the server counts these subscribers, then makes a message arrive.
console.log("READY");
await Promise.race([Promise.all(waits), timeout(20000)]);
console.log(JSON.stringify(seen));
await ws.dispose();
process.exit(0);
