export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** Date with time (ISO-8601). Answers are always UTC with milliseconds, e.g. 2026-12-04T17:09:54.123Z. */
  DateTime: { input: string; output: string; }
  /** The `JSON` scalar type represents JSON values as specified by [ECMA-404](https://ecma-international.org/wp-content/uploads/ECMA-404_2nd_edition_december_2017.pdf). */
  JSON: { input: unknown; output: unknown; }
  /** Represents a file upload. */
  Upload: { input: File; output: File; }
};

/** One agent's figures of a report. */
export type AgentReport = {
  __typename?: 'AgentReport';
  /** Conversations opened in the period that this agent answered first. */
  conversations: Scalars['Int']['output'];
  firstResponseSeconds: DurationPercentiles;
  /** Messages they sent in the period. */
  messagesSent: Scalars['Int']['output'];
  /** The agent (null when the profile was deleted). */
  profile?: Maybe<Profile>;
  resolutionSeconds: DurationPercentiles;
  /** Resolutions in the period while assigned to this agent (or by them, when unassigned). */
  resolved: Scalars['Int']['output'];
};

/** Whose conversations: ME (assigned to the viewer), UNASSIGNED, or ANY. */
export type AssigneeFilter =
  | 'ANY'
  | 'ME'
  | 'UNASSIGNED';

/** How mediaUrl serves audio. ORIGINAL as received (WhatsApp voice notes are OGG/Opus, which Safari does not play); M4A (AAC) and MP3 play in every browser, converted on first use. */
export type AudioFormat =
  | 'M4A'
  | 'MP3'
  | 'ORIGINAL';

/** Business hours of a number, now. */
export type Availability = {
  __typename?: 'Availability';
  isAvailableNow: Scalars['Boolean']['output'];
  /** When the next opening starts (now when open; null when never). */
  nextAvailableAt?: Maybe<Scalars['DateTime']['output']>;
  timezone: Scalars['String']['output'];
};

/** A client of the company, from the client base. */
export type Client = Node & {
  __typename?: 'Client';
  createdAt: Scalars['DateTime']['output'];
  document?: Maybe<Scalars['String']['output']>;
  email?: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
  notes?: Maybe<Scalars['String']['output']>;
  phone?: Maybe<Scalars['String']['output']>;
  updatedAt: Scalars['DateTime']['output'];
};

export type ClientConnection = {
  __typename?: 'ClientConnection';
  edges: Array<ClientEdge>;
  pageInfo: PageInfo;
};

export type ClientEdge = {
  __typename?: 'ClientEdge';
  cursor: Scalars['String']['output'];
  node: Client;
};

/** A person (or group) talking to one of our numbers. */
export type Contact = Node & {
  __typename?: 'Contact';
  /** The agent who owns the conversation; null: unassigned. */
  assignee?: Maybe<Profile>;
  /** The linked client, if any. */
  client?: Maybe<Client>;
  /** More than one client has this phone number; link one by hand. */
  clientMatchAmbiguous: Scalars['Boolean']['output'];
  contactType: ContactType;
  createdAt: Scalars['DateTime']['output'];
  /** First reply of a person in the current conversation (auto-replies and notes do not count). */
  firstResponseAt?: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['ID']['output'];
  instanceId: Scalars['ID']['output'];
  /** First and last message, counts, last auto-reply. */
  interactions: InteractionSummary;
  isGroup: Scalars['Boolean']['output'];
  /** Labels, alphabetical (case ignored). */
  labels: Array<Scalars['String']['output']>;
  lastMessage?: Maybe<Message>;
  lastMessageAt?: Maybe<Scalars['DateTime']['output']>;
  name?: Maybe<Scalars['String']['output']>;
  /** When the current conversation started: its first incoming message, or its reopening. Null until the contact first writes. */
  openedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Digits with country code; null while WhatsApp only shows a privacy id. */
  phoneNumber?: Maybe<Scalars['String']['output']>;
  profilePictureUrl?: Maybe<Scalars['String']['output']>;
  /** The name the person set on WhatsApp. */
  pushName?: Maybe<Scalars['String']['output']>;
  remoteJid: Scalars['String']['output'];
  /** When it was resolved; null while it is not RESOLVED. */
  resolvedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Where the conversation stands (new contacts: OPEN). */
  status: ConversationStatus;
  /** Incoming messages after the viewer's own read mark. */
  unreadCount: Scalars['Int']['output'];
  updatedAt: Scalars['DateTime']['output'];
};

export type ContactConnection = {
  __typename?: 'ContactConnection';
  edges: Array<ContactEdge>;
  pageInfo: PageInfo;
};

export type ContactEdge = {
  __typename?: 'ContactEdge';
  cursor: Scalars['String']['output'];
  node: Contact;
};

export type ContactEvent = {
  __typename?: 'ContactEvent';
  /** Null when DELETED or RELOAD_REQUIRED. */
  contact?: Maybe<Contact>;
  /** The contact's id, also when DELETED; null for RELOAD_REQUIRED. */
  contactId?: Maybe<Scalars['ID']['output']>;
  kind: StreamEventKind;
  /** Pass it back as afterSeq to resume after it. */
  seq: Scalars['String']['output'];
};

/** What a contact is doing in the chat: typing (COMPOSING), recording a voice note (RECORDING), stopped (PAUSED), online (AVAILABLE) or gone (UNAVAILABLE). */
export type ContactPresence =
  | 'AVAILABLE'
  | 'COMPOSING'
  | 'PAUSED'
  | 'RECORDING'
  | 'UNAVAILABLE';

export type ContactType =
  | 'CLIENTE'
  | 'LEAD'
  | 'PRESTADOR'
  | 'PROFISSIONAL'
  | 'UNKNOWN';

/** Where a conversation stands: OPEN (being handled), PENDING (waiting, e.g. on the customer or a third party), RESOLVED (done; an incoming message reopens it). */
export type ConversationStatus =
  | 'OPEN'
  | 'PENDING'
  | 'RESOLVED';

export type CreateClientInput = {
  document?: InputMaybe<Scalars['String']['input']>;
  email?: InputMaybe<Scalars['String']['input']>;
  /** Defaults to the contact's name. */
  name?: InputMaybe<Scalars['String']['input']>;
  notes?: InputMaybe<Scalars['String']['input']>;
};

export type CreateInstanceInput = {
  displayName: Scalars['String']['input'];
};

/** A signed, short-lived link to a person's data (exportContactData). */
export type DataExport = {
  __typename?: 'DataExport';
  expiresAt: Scalars['DateTime']['output'];
  /** GET it (no header needed) for the zip. */
  url: Scalars['String']['output'];
};

/** Median and 90th percentile, in seconds (null: no data). */
export type DurationPercentiles = {
  __typename?: 'DurationPercentiles';
  p50?: Maybe<Scalars['Float']['output']>;
  p90?: Maybe<Scalars['Float']['output']>;
};

/** A webhook event that could not be applied. */
export type FailedWebhookEvent = {
  __typename?: 'FailedWebhookEvent';
  attempts: Scalars['Int']['output'];
  event: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  instanceName: Scalars['String']['output'];
  lastError?: Maybe<Scalars['String']['output']>;
  receivedAt: Scalars['DateTime']['output'];
};

/** A WhatsApp number connected through Evolution API. */
export type Instance = Node & {
  __typename?: 'Instance';
  connectedAt?: Maybe<Scalars['DateTime']['output']>;
  createdAt: Scalars['DateTime']['output'];
  disconnectedAt?: Maybe<Scalars['DateTime']['output']>;
  displayName: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  /** Evolution API's name for this number. */
  instanceName: Scalars['String']['output'];
  /** When Evolution API last sent an event for this number. */
  lastSeenAt?: Maybe<Scalars['DateTime']['output']>;
  /** Profiles that answer this number (admins see every number). */
  members: Array<Profile>;
  /** 8-character code to link by phone number instead of scanning. */
  pairingCode?: Maybe<Scalars['String']['output']>;
  phoneNumber?: Maybe<Scalars['String']['output']>;
  profileName?: Maybe<Scalars['String']['output']>;
  profilePictureUrl?: Maybe<Scalars['String']['output']>;
  /** QR code to scan, as a PNG data URI (while status is QR_CODE). */
  qrCode?: Maybe<Scalars['String']['output']>;
  /** The raw QR string, to draw it yourself. */
  qrCodeText?: Maybe<Scalars['String']['output']>;
  qrCodeUpdatedAt?: Maybe<Scalars['DateTime']['output']>;
  status: InstanceStatus;
  /** Why the number is in this state. */
  statusDetail?: Maybe<Scalars['String']['output']>;
  /** WhatsApp's reason code of the last state change (401 = logged out). */
  statusReason?: Maybe<Scalars['Int']['output']>;
  updatedAt: Scalars['DateTime']['output'];
  webhookUrl?: Maybe<Scalars['String']['output']>;
};

/** A change of a number: status, a new QR code, settings, deletion. */
export type InstanceEvent = {
  __typename?: 'InstanceEvent';
  /** Null once deleted. */
  instance?: Maybe<Instance>;
  instanceId: Scalars['ID']['output'];
  kind: InstanceEventKind;
};

export type InstanceEventKind =
  | 'CREATED'
  | 'DELETED'
  | 'QR_CODE'
  | 'SETTINGS'
  | 'STATUS'
  | 'UPDATED';

/** Behaviour of a number: what Evolution enforces and our automation. */
export type InstanceSettings = {
  __typename?: 'InstanceSettings';
  alwaysOnline: Scalars['Boolean']['output'];
  autoReplyCooldownMinutes: Scalars['Int']['output'];
  autoReplyEnabled: Scalars['Boolean']['output'];
  autoReplyMessage?: Maybe<Scalars['String']['output']>;
  availabilitySchedule: Scalars['JSON']['output'];
  /** The number's id, as `instanceId`: a number has one settings object, so normalised caches (Apollo, urql) key it by type and id. Not a `Node`: `node(id:)` finds the `Instance`. */
  id: Scalars['ID']['output'];
  ignoreGroups: Scalars['Boolean']['output'];
  instanceId: Scalars['ID']['output'];
  /** Send WhatsApp read receipts (blue ticks) when an agent reads a chat. */
  readMessages: Scalars['Boolean']['output'];
  readStatus: Scalars['Boolean']['output'];
  rejectCallMessage?: Maybe<Scalars['String']['output']>;
  rejectCalls: Scalars['Boolean']['output'];
  timezone: Scalars['String']['output'];
  updatedAt: Scalars['DateTime']['output'];
};

export type InstanceSettingsInput = {
  alwaysOnline?: InputMaybe<Scalars['Boolean']['input']>;
  autoReplyCooldownMinutes?: InputMaybe<Scalars['Int']['input']>;
  autoReplyEnabled?: InputMaybe<Scalars['Boolean']['input']>;
  autoReplyMessage?: InputMaybe<Scalars['String']['input']>;
  /** {"monday": {"enabled": true, "start": "08:00", "end": "18:00"}, …}; a day may hold a list of ranges; an end before the start crosses midnight. */
  availabilitySchedule?: InputMaybe<Scalars['JSON']['input']>;
  ignoreGroups?: InputMaybe<Scalars['Boolean']['input']>;
  readMessages?: InputMaybe<Scalars['Boolean']['input']>;
  readStatus?: InputMaybe<Scalars['Boolean']['input']>;
  rejectCallMessage?: InputMaybe<Scalars['String']['input']>;
  rejectCalls?: InputMaybe<Scalars['Boolean']['input']>;
  /** IANA zone; null goes back to BUSINESS_TIMEZONE. */
  timezone?: InputMaybe<Scalars['String']['input']>;
};

/** Connection state of a WhatsApp number. */
export type InstanceStatus =
  | 'CONNECTED'
  | 'CONNECTING'
  | 'DISCONNECTED'
  | 'QR_CODE';

/** How a contact and the company have talked so far. */
export type InteractionSummary = {
  __typename?: 'InteractionSummary';
  firstMessageAt?: Maybe<Scalars['DateTime']['output']>;
  incomingCount: Scalars['Int']['output'];
  lastAutoReplyAt?: Maybe<Scalars['DateTime']['output']>;
  lastMessageAt?: Maybe<Scalars['DateTime']['output']>;
  outgoingCount: Scalars['Int']['output'];
};

/** A label of a number and how many of its contacts carry it. */
export type LabelCount = {
  __typename?: 'LabelCount';
  count: Scalars['Int']['output'];
  label: Scalars['String']['output'];
};

/** Where a message's media file is: PENDING while it is being fetched from WhatsApp, READY to play (mediaUrl), or UNAVAILABLE (see mediaError). */
export type MediaState =
  | 'PENDING'
  | 'READY'
  | 'UNAVAILABLE';

/** A WhatsApp message, incoming or outgoing. */
export type Message = Node & {
  __typename?: 'Message';
  /** The contact whose chat the message is in. */
  contact: Contact;
  contactId: Scalars['ID']['output'];
  createdAt: Scalars['DateTime']['output'];
  /** This message's cursor in its chat's `messages`: pass it as `before` (newer messages) or `after` (older ones) to open the chat at this message, e.g. at a `quotedMessage` or a `searchMessages` result. */
  cursor: Scalars['String']['output'];
  /** Deleted for everyone by its author. */
  deleted: Scalars['Boolean']['output'];
  /** Why sending failed, when FAILED. */
  error?: Maybe<Scalars['String']['output']>;
  fromMe: Scalars['Boolean']['output'];
  id: Scalars['ID']['output'];
  instanceId: Scalars['ID']['output'];
  /** Why the media is UNAVAILABLE (or why the last attempt failed). */
  mediaError?: Maybe<Scalars['String']['output']>;
  mediaFilename?: Maybe<Scalars['String']['output']>;
  mediaMimeType?: Maybe<Scalars['String']['output']>;
  /** Length of audio and video. */
  mediaSeconds?: Maybe<Scalars['Int']['output']>;
  mediaSize?: Maybe<Scalars['Int']['output']>;
  /** null for messages without media. */
  mediaState?: Maybe<MediaState>;
  /** A URL of this server for the media file, for <audio src>, <img src> or a download link: no header needed, signed, valid for MEDIA_URL_TTL_SECONDS (ask again for a fresh one). Null until mediaState is READY. audioFormat applies to audio only. */
  mediaUrl?: Maybe<Scalars['String']['output']>;
  /** WhatsApp's id (a local id until the message has been sent). */
  messageId: Scalars['String']['output'];
  messageType: MessageType;
  /** Details of locations, contact cards and reactions. */
  metadata?: Maybe<Scalars['JSON']['output']>;
  /** The message this one replies to, when it is in the same chat here (null when WhatsApp's quoted message never reached us). */
  quotedMessage?: Maybe<Message>;
  /** WhatsApp id of the message this one replies to. */
  quotedMessageId?: Maybe<Scalars['String']['output']>;
  remoteJid: Scalars['String']['output'];
  /** Author inside a group. */
  senderName?: Maybe<Scalars['String']['output']>;
  /** The agent who sent it through this server, or who wrote the note; null for incoming messages, auto-replies and messages typed on the phone. */
  sentBy?: Maybe<Profile>;
  status: MessageStatus;
  textContent?: Maybe<Scalars['String']['output']>;
  timestamp: Scalars['DateTime']['output'];
};


/** A WhatsApp message, incoming or outgoing. */
export type MessageMediaUrlArgs = {
  audioFormat?: AudioFormat;
};

export type MessageConnection = {
  __typename?: 'MessageConnection';
  edges: Array<MessageEdge>;
  pageInfo: PageInfo;
};

export type MessageEdge = {
  __typename?: 'MessageEdge';
  cursor: Scalars['String']['output'];
  node: Message;
};

export type MessageEvent = {
  __typename?: 'MessageEvent';
  kind: StreamEventKind;
  message?: Maybe<Message>;
  /** Pass it back as afterSeq to resume after it. */
  seq: Scalars['String']['output'];
};

/** PENDING → SENT → DELIVERED → READ, or FAILED (then retryMessage). */
export type MessageStatus =
  | 'DELIVERED'
  | 'FAILED'
  | 'PENDING'
  | 'READ'
  | 'SENT';

export type MessageType =
  | 'AUDIO'
  | 'CONTACT'
  | 'DOCUMENT'
  | 'IMAGE'
  | 'LOCATION'
  | 'NOTE'
  | 'OTHER'
  | 'STICKER'
  | 'TEXT'
  | 'VIDEO';

export type Mutation = {
  __typename?: 'Mutation';
  /** Let a profile answer this number (admins). */
  addInstanceMember: Instance;
  /** An internal note in the conversation: a NOTE message for the team, never sent to WhatsApp, never unread. */
  addNote: Message;
  /** Assign the conversation to a member of its number (profileId null unassigns). Agents take unassigned conversations and release their own; admins assign anyone. */
  assignContact: Contact;
  /** Ask for a QR code (or a pairing code with phoneNumber); new QR codes then arrive through instanceEvents. */
  connectInstance: Instance;
  /** Create a client from the contact and link them. */
  createClientFromContact: Contact;
  /** Create a number on Evolution API (admins). */
  createInstance: Instance;
  createQuickMessage: QuickMessage;
  /** Delete the number here and on Evolution API, with its contacts and messages (admins). */
  deleteInstance: Scalars['ID']['output'];
  deleteQuickMessage: Scalars['ID']['output'];
  /** Log the number out of WhatsApp; a new QR is needed after. */
  disconnectInstance: Instance;
  /** Erase everything kept about a contact (admins; LGPD art. 18): its messages, media files, notes, labels and the contact itself. `reason` is required (at most 500 characters) and kept in the privacy log. Returns the erased contact's id; contactEvents says DELETED. A later message from the same number starts a new contact. */
  eraseContact: Scalars['ID']['output'];
  /** A copy of everything kept about a contact (LGPD art. 18): a signed link, valid for 15 minutes, to one zip with dados.json (contact, client link, messages with status and timestamps, notes, labels) and the media files. Agents export contacts of their numbers. */
  exportContactData: DataExport;
  /** Mark the contact read for the viewer only. */
  markContactRead: Contact;
  /** Stop a profile answering this number; its live subscriptions stop delivering within seconds (admins). */
  removeInstanceMember: Instance;
  /** Queue failed webhook events again: one by id, or all (admins). Returns how many. */
  replayWebhookEvents: Scalars['Int']['output'];
  /** Fetch an UNAVAILABLE media file again (after Evolution API was fixed, say): mediaState becomes PENDING, and messageEvents tells when it is READY or UNAVAILABLE. */
  retryMedia: Message;
  /** Send a FAILED message again. */
  retryMessage: Message;
  /** Queue a message: it returns at once as PENDING; status changes arrive through messageEvents. */
  sendMessage: Message;
  /** Show 'typing…' or 'recording audio…' to the contact. */
  sendPresence: Scalars['Boolean']['output'];
  /** Replace the conversation's labels (trimmed; case ignored when comparing; at most 20 of at most 40 characters). */
  setContactLabels: Contact;
  /** Move the conversation to OPEN, PENDING or RESOLVED (agents: unassigned conversations and their own). */
  setContactStatus: Contact;
  /** Classify, link to a client (null unlinks), or rename. */
  updateContact: Contact;
  updateInstance: Instance;
  /** Validate, push to Evolution API what it enforces, store. */
  updateInstanceSettings: InstanceSettings;
  updateQuickMessage: QuickMessage;
};


export type MutationAddInstanceMemberArgs = {
  instanceId: Scalars['ID']['input'];
  profileId: Scalars['ID']['input'];
};


export type MutationAddNoteArgs = {
  contactId: Scalars['ID']['input'];
  text: Scalars['String']['input'];
};


export type MutationAssignContactArgs = {
  contactId: Scalars['ID']['input'];
  profileId?: InputMaybe<Scalars['ID']['input']>;
};


export type MutationConnectInstanceArgs = {
  id: Scalars['ID']['input'];
  phoneNumber?: InputMaybe<Scalars['String']['input']>;
};


export type MutationCreateClientFromContactArgs = {
  contactId: Scalars['ID']['input'];
  input: CreateClientInput;
};


export type MutationCreateInstanceArgs = {
  input: CreateInstanceInput;
};


export type MutationCreateQuickMessageArgs = {
  input: QuickMessageInput;
};


export type MutationDeleteInstanceArgs = {
  id: Scalars['ID']['input'];
};


export type MutationDeleteQuickMessageArgs = {
  id: Scalars['ID']['input'];
};


export type MutationDisconnectInstanceArgs = {
  id: Scalars['ID']['input'];
};


export type MutationEraseContactArgs = {
  contactId: Scalars['ID']['input'];
  reason: Scalars['String']['input'];
};


export type MutationExportContactDataArgs = {
  contactId: Scalars['ID']['input'];
};


export type MutationMarkContactReadArgs = {
  contactId: Scalars['ID']['input'];
};


export type MutationRemoveInstanceMemberArgs = {
  instanceId: Scalars['ID']['input'];
  profileId: Scalars['ID']['input'];
};


export type MutationReplayWebhookEventsArgs = {
  id?: InputMaybe<Scalars['ID']['input']>;
};


export type MutationRetryMediaArgs = {
  id: Scalars['ID']['input'];
};


export type MutationRetryMessageArgs = {
  id: Scalars['ID']['input'];
};


export type MutationSendMessageArgs = {
  input: SendMessageInput;
};


export type MutationSendPresenceArgs = {
  contactId: Scalars['ID']['input'];
  presence: Presence;
};


export type MutationSetContactLabelsArgs = {
  contactId: Scalars['ID']['input'];
  labels: Array<Scalars['String']['input']>;
};


export type MutationSetContactStatusArgs = {
  contactId: Scalars['ID']['input'];
  status: ConversationStatus;
};


export type MutationUpdateContactArgs = {
  id: Scalars['ID']['input'];
  input: UpdateContactInput;
};


export type MutationUpdateInstanceArgs = {
  id: Scalars['ID']['input'];
  input: UpdateInstanceInput;
};


export type MutationUpdateInstanceSettingsArgs = {
  input: InstanceSettingsInput;
  instanceId: Scalars['ID']['input'];
};


export type MutationUpdateQuickMessageArgs = {
  id: Scalars['ID']['input'];
  input: UpdateQuickMessageInput;
};

/** An object with an id of its own: `node(id:)` finds it again by that id (Relay's object identification; normalised caches refetch with it). */
export type Node = {
  id: Scalars['ID']['output'];
};

/** What sendMessage can send. */
export type OutgoingMessageType =
  | 'AUDIO'
  | 'DOCUMENT'
  | 'IMAGE'
  | 'TEXT'
  | 'VIDEO';

/** Relay-style page information; cursors are opaque. */
export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor?: Maybe<Scalars['String']['output']>;
  /** With first: more items after this page. With last: true when the page was asked for before a cursor. */
  hasNextPage: Scalars['Boolean']['output'];
  /** With last: more items before this page. With first: true when the page was asked for after a cursor. */
  hasPreviousPage: Scalars['Boolean']['output'];
  startCursor?: Maybe<Scalars['String']['output']>;
};

export type Presence =
  | 'COMPOSING'
  | 'PAUSED'
  | 'RECORDING';

/** A contact's presence, as WhatsApp just told it. Never stored. */
export type PresenceEvent = {
  __typename?: 'PresenceEvent';
  /** When the server received it. */
  at: Scalars['DateTime']['output'];
  contactId: Scalars['ID']['output'];
  /** When the contact was last online, if WhatsApp said (UNAVAILABLE). */
  lastSeen?: Maybe<Scalars['DateTime']['output']>;
  presence: ContactPresence;
};

/** A person who signs in: an administrator or an agent. */
export type Profile = Node & {
  __typename?: 'Profile';
  createdAt: Scalars['DateTime']['output'];
  email?: Maybe<Scalars['String']['output']>;
  fullName?: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  role: ProfileRole;
};

/** What a profile may do: admins manage, agents answer. */
export type ProfileRole =
  | 'ADMIN'
  | 'AGENT';

export type Query = {
  __typename?: 'Query';
  /** Whether the number is within business hours now. */
  availability: Availability;
  /** Clients for the picker, by name; `search` matches name, phone in any format, or document. */
  clients: ClientConnection;
  contact?: Maybe<Contact>;
  /** Contacts of a number, newest conversation first. `search` matches names and phone numbers in any format; `status`, `assignee` (ME, UNASSIGNED, ANY), `assigneeId` and `label` (case ignored) narrow the list, combined with `search` and `type`. `first` (50 when neither is given) with `after` goes on to older conversations; `last` with `before` comes back to newer ones (edges still newest first). */
  contacts: ContactConnection;
  /** Webhook events that failed, newest first (admins). */
  failedWebhookEvents: Array<FailedWebhookEvent>;
  instance?: Maybe<Instance>;
  instanceSettings: InstanceSettings;
  /** The numbers the viewer can see (all of them for admins). */
  instances: Array<Instance>;
  /** The number's labels with how many contacts carry each, most used first (for an autocomplete: `prefix` narrows them). */
  labels: Array<LabelCount>;
  /** A contact's messages, newest first. `first` (50 when neither is given) with `after` goes back in time; `last` with `before` comes forward from a cursor (edges still newest first). */
  messages: MessageConnection;
  /** Any object by its id (Contact, Message, Instance, Profile, Client, QuickMessage): null when it does not exist or is not yours to see, as contact(id:) and instance(id:) answer. */
  node?: Maybe<Node>;
  /** Several objects by id (at most 100), in the order asked; null for each one that does not exist or is not yours to see. */
  nodes: Array<Maybe<Node>>;
  /** Who can be assigned: the members of instanceId; without it, the members of every number you see (admins: every profile). */
  profiles: Array<Profile>;
  /** Quick messages for the `/` autocomplete: shortcut prefix matches first, then matches in the text. */
  quickMessages: Array<QuickMessage>;
  /** The quick message as it would be sent to this contact. */
  renderQuickMessage: Scalars['String']['output'];
  /** Conversation figures of a period, overall and per agent: admins of every number (or instanceId), agents of their numbers. The same per conversation: GET /reports/conversations.csv. */
  report: Report;
  /** Messages of a number whose text matches `query`, newest first. Accents and word endings are ignored (Portuguese): `atencao` finds "Atenção", `pagamento` finds "pagamentos". Web-search syntax: "a phrase", -word excludes, `or`. Deleted messages are not found; a query of stop words alone finds nothing. Each message's `contact` is its chat. */
  searchMessages: MessageConnection;
  /** Numbers by status, stale numbers, backlogs (admins). */
  systemStatus: SystemStatus;
  /** The signed-in profile (created on its first request). */
  viewer: Profile;
};


export type QueryAvailabilityArgs = {
  instanceId: Scalars['ID']['input'];
};


export type QueryClientsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  search?: InputMaybe<Scalars['String']['input']>;
};


export type QueryContactArgs = {
  id: Scalars['ID']['input'];
};


export type QueryContactsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  assignee?: AssigneeFilter;
  assigneeId?: InputMaybe<Scalars['ID']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  instanceId: Scalars['ID']['input'];
  label?: InputMaybe<Scalars['String']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
  search?: InputMaybe<Scalars['String']['input']>;
  status?: InputMaybe<ConversationStatus>;
  type?: InputMaybe<ContactType>;
};


export type QueryFailedWebhookEventsArgs = {
  first?: Scalars['Int']['input'];
};


export type QueryInstanceArgs = {
  id: Scalars['ID']['input'];
};


export type QueryInstanceSettingsArgs = {
  instanceId: Scalars['ID']['input'];
};


export type QueryLabelsArgs = {
  instanceId: Scalars['ID']['input'];
  prefix?: InputMaybe<Scalars['String']['input']>;
};


export type QueryMessagesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  before?: InputMaybe<Scalars['String']['input']>;
  contactId: Scalars['ID']['input'];
  first?: InputMaybe<Scalars['Int']['input']>;
  last?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryNodeArgs = {
  id: Scalars['ID']['input'];
};


export type QueryNodesArgs = {
  ids: Array<Scalars['ID']['input']>;
};


export type QueryProfilesArgs = {
  instanceId?: InputMaybe<Scalars['ID']['input']>;
};


export type QueryQuickMessagesArgs = {
  search?: InputMaybe<Scalars['String']['input']>;
};


export type QueryRenderQuickMessageArgs = {
  contactId: Scalars['ID']['input'];
  shortcut: Scalars['String']['input'];
};


export type QueryReportArgs = {
  from: Scalars['DateTime']['input'];
  instanceId?: InputMaybe<Scalars['ID']['input']>;
  to: Scalars['DateTime']['input'];
};


export type QuerySearchMessagesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  instanceId: Scalars['ID']['input'];
  query: Scalars['String']['input'];
};

/** A reusable reply, typed as /shortcut. */
export type QuickMessage = Node & {
  __typename?: 'QuickMessage';
  createdAt: Scalars['DateTime']['output'];
  description?: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  messageText: Scalars['String']['output'];
  shortcut: Scalars['String']['output'];
  updatedAt: Scalars['DateTime']['output'];
};

export type QuickMessageInput = {
  description?: InputMaybe<Scalars['String']['input']>;
  messageText: Scalars['String']['input'];
  shortcut: Scalars['String']['input'];
};

/** Conversation figures of a period. A conversation opens with the customer's first message or a reopening; first response: from its first incoming message to the first reply of a person (auto-replies and notes do not count); resolution: from its opening to RESOLVED. */
export type Report = {
  __typename?: 'Report';
  byAgent: Array<AgentReport>;
  /** Conversations opened in the period. */
  conversations: Scalars['Int']['output'];
  /** Of the conversations opened in the period that got a reply. */
  firstResponseSeconds: DurationPercentiles;
  from: Scalars['DateTime']['output'];
  messagesReceived: Scalars['Int']['output'];
  /** Our messages of the period, auto-replies included, notes excluded. */
  messagesSent: Scalars['Int']['output'];
  /** Of the resolutions in the period. */
  resolutionSeconds: DurationPercentiles;
  /** Resolutions in the period. */
  resolved: Scalars['Int']['output'];
  to: Scalars['DateTime']['output'];
};

export type SendMessageInput = {
  /** The recording itself, in any browser format (webm/opus, mp4/aac, ogg, wav, mp3); GraphQL multipart upload. (media works too.) */
  audio?: InputMaybe<Scalars['Upload']['input']>;
  /** A public URL of the audio; Evolution converts it to a voice note. (mediaUrl works too.) */
  audioUrl?: InputMaybe<Scalars['String']['input']>;
  /** Text shown under an IMAGE, DOCUMENT or VIDEO (textContent is accepted instead). */
  caption?: InputMaybe<Scalars['String']['input']>;
  contactId: Scalars['ID']['input'];
  /** The name the contact sees for a DOCUMENT (default: the upload's name). */
  fileName?: InputMaybe<Scalars['String']['input']>;
  /** Sending again with the same key returns the first message. */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  instanceId: Scalars['ID']['input'];
  /** The file of an IMAGE, DOCUMENT, VIDEO or AUDIO message (GraphQL multipart upload, at most MEDIA_MAX_BYTES), checked by its content: IMAGE JPEG/PNG/WebP/GIF, VIDEO MP4/3GP/MOV, DOCUMENT any known type or plain text. */
  media?: InputMaybe<Scalars['Upload']['input']>;
  /** Instead of an upload: a public http(s) URL that Evolution API downloads. */
  mediaUrl?: InputMaybe<Scalars['String']['input']>;
  messageType?: OutgoingMessageType;
  /** Send this quick message, rendered for the contact. */
  quickMessageShortcut?: InputMaybe<Scalars['String']['input']>;
  /** The message to reply to: its id or its WhatsApp messageId. */
  quotedMessageId?: InputMaybe<Scalars['String']['input']>;
  textContent?: InputMaybe<Scalars['String']['input']>;
};

/** A connected number Evolution has been quiet about, or one stuck connecting. */
export type StaleInstance = {
  __typename?: 'StaleInstance';
  displayName: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  instanceName: Scalars['String']['output'];
  lastSeenAt?: Maybe<Scalars['DateTime']['output']>;
  status: Scalars['String']['output'];
};

export type StatusCount = {
  __typename?: 'StatusCount';
  count: Scalars['Int']['output'];
  status: Scalars['String']['output'];
};

/** RELOAD_REQUIRED: events were missed beyond the retention window; refetch and subscribe again without afterSeq. DELETED: the contact was erased (eraseContact); drop it and its conversation. */
export type StreamEventKind =
  | 'CREATED'
  | 'DELETED'
  | 'RELOAD_REQUIRED'
  | 'UPDATED';

export type Subscription = {
  __typename?: 'Subscription';
  /** Contacts of a number that changed: new contact, new last message, unread count, name or client link. */
  contactEvents: ContactEvent;
  /** Status, QR code and settings changes of the numbers the viewer can see; one number with instanceId. */
  instanceEvents: InstanceEvent;
  /** New messages and status changes of a number (one contact with contactId). Pass the last seq you saw as afterSeq to resume without gaps or duplicates. */
  messageEvents: MessageEvent;
  /** Contacts of a number typing, recording, pausing, coming online or going away; live only (never stored, nothing to resume). With contactId (the chat on screen), that contact's only, and the server asks WhatsApp for that chat's presence: WhatsApp tells it only for chats the number subscribed to. */
  presenceEvents: PresenceEvent;
};


export type SubscriptionContactEventsArgs = {
  afterSeq?: InputMaybe<Scalars['String']['input']>;
  instanceId: Scalars['ID']['input'];
};


export type SubscriptionInstanceEventsArgs = {
  instanceId?: InputMaybe<Scalars['ID']['input']>;
};


export type SubscriptionMessageEventsArgs = {
  afterSeq?: InputMaybe<Scalars['String']['input']>;
  contactId?: InputMaybe<Scalars['ID']['input']>;
  instanceId: Scalars['ID']['input'];
};


export type SubscriptionPresenceEventsArgs = {
  contactId?: InputMaybe<Scalars['ID']['input']>;
  instanceId: Scalars['ID']['input'];
};

/** Health of the whole system, for administrators. */
export type SystemStatus = {
  __typename?: 'SystemStatus';
  failedWebhookEvents: Scalars['Int']['output'];
  instancesByStatus: Array<StatusCount>;
  /** On the process that answered. */
  liveSubscribers: Scalars['Int']['output'];
  oldestPendingWebhookSeconds: Scalars['Float']['output'];
  outboxOldestSeconds: Scalars['Float']['output'];
  outboxPending: Scalars['Int']['output'];
  pendingWebhookEvents: Scalars['Int']['output'];
  ready: Scalars['Boolean']['output'];
  staleInstances: Array<StaleInstance>;
};

export type UpdateContactInput = {
  /** null unlinks the client. */
  clientId?: InputMaybe<Scalars['ID']['input']>;
  contactType?: InputMaybe<ContactType>;
  /** null goes back to the WhatsApp name. */
  name?: InputMaybe<Scalars['String']['input']>;
};

export type UpdateInstanceInput = {
  displayName?: InputMaybe<Scalars['String']['input']>;
};

export type UpdateQuickMessageInput = {
  description?: InputMaybe<Scalars['String']['input']>;
  messageText?: InputMaybe<Scalars['String']['input']>;
  shortcut?: InputMaybe<Scalars['String']['input']>;
};
