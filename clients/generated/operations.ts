/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** Whose conversations: ME (assigned to the viewer), UNASSIGNED, or ANY. */
export type AssigneeFilter =
  | 'ANY'
  | 'ME'
  | 'UNASSIGNED';

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
  document?: string | null | undefined;
  email?: string | null | undefined;
  /** Defaults to the contact's name. */
  name?: string | null | undefined;
  notes?: string | null | undefined;
};

export type InstanceEventKind =
  | 'CREATED'
  | 'DELETED'
  | 'QR_CODE'
  | 'SETTINGS'
  | 'STATUS'
  | 'UPDATED';

export type InstanceSettingsInput = {
  alwaysOnline?: boolean | null | undefined;
  autoReplyCooldownMinutes?: number | null | undefined;
  autoReplyEnabled?: boolean | null | undefined;
  autoReplyMessage?: string | null | undefined;
  /** {"monday": {"enabled": true, "start": "08:00", "end": "18:00"}, …}; a day may hold a list of ranges; an end before the start crosses midnight. */
  availabilitySchedule?: unknown;
  ignoreGroups?: boolean | null | undefined;
  readMessages?: boolean | null | undefined;
  readStatus?: boolean | null | undefined;
  rejectCallMessage?: string | null | undefined;
  rejectCalls?: boolean | null | undefined;
  /** IANA zone; null goes back to BUSINESS_TIMEZONE. */
  timezone?: string | null | undefined;
};

/** Connection state of a WhatsApp number. */
export type InstanceStatus =
  | 'CONNECTED'
  | 'CONNECTING'
  | 'DISCONNECTED'
  | 'QR_CODE';

/** Where a message's media file is: PENDING while it is being fetched from WhatsApp, READY to play (mediaUrl), or UNAVAILABLE (see mediaError). */
export type MediaState =
  | 'PENDING'
  | 'READY'
  | 'UNAVAILABLE';

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

/** What sendMessage can send. */
export type OutgoingMessageType =
  | 'AUDIO'
  | 'DOCUMENT'
  | 'IMAGE'
  | 'TEXT'
  | 'VIDEO';

export type Presence =
  | 'COMPOSING'
  | 'PAUSED'
  | 'RECORDING';

/** What a profile may do: admins manage, agents answer. */
export type ProfileRole =
  | 'ADMIN'
  | 'AGENT';

export type QuickMessageInput = {
  description?: string | null | undefined;
  messageText: string;
  shortcut: string;
};

/** RELOAD_REQUIRED: events were missed beyond the retention window; refetch and subscribe again without afterSeq. DELETED: the contact was erased (eraseContact); drop it and its conversation. */
export type StreamEventKind =
  | 'CREATED'
  | 'DELETED'
  | 'RELOAD_REQUIRED'
  | 'UPDATED';

export type UpdateContactInput = {
  /** null unlinks the client. */
  clientId?: string | number | null | undefined;
  contactType?: ContactType | null | undefined;
  /** null goes back to the WhatsApp name. */
  name?: string | null | undefined;
};

export type UpdateQuickMessageInput = {
  description?: string | null | undefined;
  messageText?: string | null | undefined;
  shortcut?: string | null | undefined;
};

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { viewer: { id: string, fullName: string | null, email: string | null, role: ProfileRole } };

export type InstanceFieldsFragment = { id: string, instanceName: string, displayName: string, phoneNumber: string | null, status: InstanceStatus, qrCode: string | null, qrCodeText: string | null, pairingCode: string | null, qrCodeUpdatedAt: string | null, statusReason: number | null, statusDetail: string | null, profileName: string | null, profilePictureUrl: string | null, connectedAt: string | null, disconnectedAt: string | null, lastSeenAt: string | null };

export type InstancesQueryVariables = Exact<{ [key: string]: never; }>;


export type InstancesQuery = { instances: Array<{ id: string, instanceName: string, displayName: string, phoneNumber: string | null, status: InstanceStatus, qrCode: string | null, qrCodeText: string | null, pairingCode: string | null, qrCodeUpdatedAt: string | null, statusReason: number | null, statusDetail: string | null, profileName: string | null, profilePictureUrl: string | null, connectedAt: string | null, disconnectedAt: string | null, lastSeenAt: string | null }> };

export type InstanceQueryVariables = Exact<{
  id: string | number;
}>;


export type InstanceQuery = { instance: { id: string, instanceName: string, displayName: string, phoneNumber: string | null, status: InstanceStatus, qrCode: string | null, qrCodeText: string | null, pairingCode: string | null, qrCodeUpdatedAt: string | null, statusReason: number | null, statusDetail: string | null, profileName: string | null, profilePictureUrl: string | null, connectedAt: string | null, disconnectedAt: string | null, lastSeenAt: string | null, members: Array<{ id: string, fullName: string | null, email: string | null, role: ProfileRole }> } | null };

export type CreateInstanceMutationVariables = Exact<{
  displayName: string;
}>;


export type CreateInstanceMutation = { createInstance: { id: string, instanceName: string, displayName: string, phoneNumber: string | null, status: InstanceStatus, qrCode: string | null, qrCodeText: string | null, pairingCode: string | null, qrCodeUpdatedAt: string | null, statusReason: number | null, statusDetail: string | null, profileName: string | null, profilePictureUrl: string | null, connectedAt: string | null, disconnectedAt: string | null, lastSeenAt: string | null } };

export type ConnectInstanceMutationVariables = Exact<{
  id: string | number;
  phoneNumber?: string | null | undefined;
}>;


export type ConnectInstanceMutation = { connectInstance: { id: string, instanceName: string, displayName: string, phoneNumber: string | null, status: InstanceStatus, qrCode: string | null, qrCodeText: string | null, pairingCode: string | null, qrCodeUpdatedAt: string | null, statusReason: number | null, statusDetail: string | null, profileName: string | null, profilePictureUrl: string | null, connectedAt: string | null, disconnectedAt: string | null, lastSeenAt: string | null } };

export type DisconnectInstanceMutationVariables = Exact<{
  id: string | number;
}>;


export type DisconnectInstanceMutation = { disconnectInstance: { id: string, instanceName: string, displayName: string, phoneNumber: string | null, status: InstanceStatus, qrCode: string | null, qrCodeText: string | null, pairingCode: string | null, qrCodeUpdatedAt: string | null, statusReason: number | null, statusDetail: string | null, profileName: string | null, profilePictureUrl: string | null, connectedAt: string | null, disconnectedAt: string | null, lastSeenAt: string | null } };

export type RenameInstanceMutationVariables = Exact<{
  id: string | number;
  displayName: string;
}>;


export type RenameInstanceMutation = { updateInstance: { id: string, instanceName: string, displayName: string, phoneNumber: string | null, status: InstanceStatus, qrCode: string | null, qrCodeText: string | null, pairingCode: string | null, qrCodeUpdatedAt: string | null, statusReason: number | null, statusDetail: string | null, profileName: string | null, profilePictureUrl: string | null, connectedAt: string | null, disconnectedAt: string | null, lastSeenAt: string | null } };

export type DeleteInstanceMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteInstanceMutation = { deleteInstance: string };

export type InstanceEventsSubscriptionVariables = Exact<{
  instanceId?: string | number | null | undefined;
}>;


export type InstanceEventsSubscription = { instanceEvents: { kind: InstanceEventKind, instanceId: string, instance: { id: string, instanceName: string, displayName: string, phoneNumber: string | null, status: InstanceStatus, qrCode: string | null, qrCodeText: string | null, pairingCode: string | null, qrCodeUpdatedAt: string | null, statusReason: number | null, statusDetail: string | null, profileName: string | null, profilePictureUrl: string | null, connectedAt: string | null, disconnectedAt: string | null, lastSeenAt: string | null } | null } };

export type ContactListItemFragment = { id: string, instanceId: string, name: string | null, pushName: string | null, phoneNumber: string | null, profilePictureUrl: string | null, contactType: ContactType, isGroup: boolean, unreadCount: number, lastMessageAt: string | null, status: ConversationStatus, labels: Array<string>, openedAt: string | null, firstResponseAt: string | null, resolvedAt: string | null, lastMessage: { id: string, messageType: MessageType, textContent: string | null, fromMe: boolean, status: MessageStatus, timestamp: string } | null, client: { id: string, name: string } | null, assignee: { id: string, fullName: string | null } | null };

export type ContactsQueryVariables = Exact<{
  instanceId: string | number;
  type?: ContactType | null | undefined;
  search?: string | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
  status?: ConversationStatus | null | undefined;
  assignee?: AssigneeFilter | null | undefined;
  assigneeId?: string | number | null | undefined;
  label?: string | null | undefined;
}>;


export type ContactsQuery = { contacts: { edges: Array<{ cursor: string, node: { id: string, instanceId: string, name: string | null, pushName: string | null, phoneNumber: string | null, profilePictureUrl: string | null, contactType: ContactType, isGroup: boolean, unreadCount: number, lastMessageAt: string | null, status: ConversationStatus, labels: Array<string>, openedAt: string | null, firstResponseAt: string | null, resolvedAt: string | null, lastMessage: { id: string, messageType: MessageType, textContent: string | null, fromMe: boolean, status: MessageStatus, timestamp: string } | null, client: { id: string, name: string } | null, assignee: { id: string, fullName: string | null } | null } }>, pageInfo: { hasNextPage: boolean, hasPreviousPage: boolean, startCursor: string | null, endCursor: string | null } } };

export type ContactEventsSubscriptionVariables = Exact<{
  instanceId: string | number;
  afterSeq?: string | null | undefined;
}>;


export type ContactEventsSubscription = { contactEvents: { seq: string, kind: StreamEventKind, contactId: string | null, contact: { id: string, instanceId: string, name: string | null, pushName: string | null, phoneNumber: string | null, profilePictureUrl: string | null, contactType: ContactType, isGroup: boolean, unreadCount: number, lastMessageAt: string | null, status: ConversationStatus, labels: Array<string>, openedAt: string | null, firstResponseAt: string | null, resolvedAt: string | null, lastMessage: { id: string, messageType: MessageType, textContent: string | null, fromMe: boolean, status: MessageStatus, timestamp: string } | null, client: { id: string, name: string } | null, assignee: { id: string, fullName: string | null } | null } | null } };

export type ChatMessageFragment = { id: string, instanceId: string, contactId: string, messageId: string, fromMe: boolean, messageType: MessageType, textContent: string | null, quotedMessageId: string | null, cursor: string, status: MessageStatus, error: string | null, senderName: string | null, metadata: unknown, deleted: boolean, timestamp: string, mediaState: MediaState | null, mediaError: string | null, mediaMimeType: string | null, mediaFilename: string | null, mediaSize: number | null, mediaSeconds: number | null, mediaUrl: string | null, m4aUrl: string | null, quotedMessage: { id: string, textContent: string | null, messageType: MessageType, fromMe: boolean, cursor: string } | null, sentBy: { id: string, fullName: string | null } | null };

export type MessagesQueryVariables = Exact<{
  contactId: string | number;
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
}>;


export type MessagesQuery = { messages: { edges: Array<{ cursor: string, node: { id: string, instanceId: string, contactId: string, messageId: string, fromMe: boolean, messageType: MessageType, textContent: string | null, quotedMessageId: string | null, cursor: string, status: MessageStatus, error: string | null, senderName: string | null, metadata: unknown, deleted: boolean, timestamp: string, mediaState: MediaState | null, mediaError: string | null, mediaMimeType: string | null, mediaFilename: string | null, mediaSize: number | null, mediaSeconds: number | null, mediaUrl: string | null, m4aUrl: string | null, quotedMessage: { id: string, textContent: string | null, messageType: MessageType, fromMe: boolean, cursor: string } | null, sentBy: { id: string, fullName: string | null } | null } }>, pageInfo: { hasNextPage: boolean, hasPreviousPage: boolean, startCursor: string | null, endCursor: string | null } } };

export type SearchMessagesQueryVariables = Exact<{
  instanceId: string | number;
  query: string;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type SearchMessagesQuery = { searchMessages: { edges: Array<{ cursor: string, node: { id: string, instanceId: string, contactId: string, messageId: string, fromMe: boolean, messageType: MessageType, textContent: string | null, quotedMessageId: string | null, cursor: string, status: MessageStatus, error: string | null, senderName: string | null, metadata: unknown, deleted: boolean, timestamp: string, mediaState: MediaState | null, mediaError: string | null, mediaMimeType: string | null, mediaFilename: string | null, mediaSize: number | null, mediaSeconds: number | null, mediaUrl: string | null, m4aUrl: string | null, contact: { id: string, name: string | null, phoneNumber: string | null }, quotedMessage: { id: string, textContent: string | null, messageType: MessageType, fromMe: boolean, cursor: string } | null, sentBy: { id: string, fullName: string | null } | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type MessageEventsSubscriptionVariables = Exact<{
  instanceId: string | number;
  contactId?: string | number | null | undefined;
  afterSeq?: string | null | undefined;
}>;


export type MessageEventsSubscription = { messageEvents: { seq: string, kind: StreamEventKind, message: { id: string, instanceId: string, contactId: string, messageId: string, fromMe: boolean, messageType: MessageType, textContent: string | null, quotedMessageId: string | null, cursor: string, status: MessageStatus, error: string | null, senderName: string | null, metadata: unknown, deleted: boolean, timestamp: string, mediaState: MediaState | null, mediaError: string | null, mediaMimeType: string | null, mediaFilename: string | null, mediaSize: number | null, mediaSeconds: number | null, mediaUrl: string | null, m4aUrl: string | null, quotedMessage: { id: string, textContent: string | null, messageType: MessageType, fromMe: boolean, cursor: string } | null, sentBy: { id: string, fullName: string | null } | null } | null } };

export type PresenceEventsSubscriptionVariables = Exact<{
  instanceId: string | number;
  contactId?: string | number | null | undefined;
}>;


export type PresenceEventsSubscription = { presenceEvents: { contactId: string, presence: ContactPresence, at: string, lastSeen: string | null } };

export type MarkContactReadMutationVariables = Exact<{
  contactId: string | number;
}>;


export type MarkContactReadMutation = { markContactRead: { id: string, unreadCount: number } };

export type SendTextMutationVariables = Exact<{
  instanceId: string | number;
  contactId: string | number;
  textContent: string;
  quotedMessageId?: string | null | undefined;
  idempotencyKey?: string | null | undefined;
}>;


export type SendTextMutation = { sendMessage: { id: string, instanceId: string, contactId: string, messageId: string, fromMe: boolean, messageType: MessageType, textContent: string | null, quotedMessageId: string | null, cursor: string, status: MessageStatus, error: string | null, senderName: string | null, metadata: unknown, deleted: boolean, timestamp: string, mediaState: MediaState | null, mediaError: string | null, mediaMimeType: string | null, mediaFilename: string | null, mediaSize: number | null, mediaSeconds: number | null, mediaUrl: string | null, m4aUrl: string | null, quotedMessage: { id: string, textContent: string | null, messageType: MessageType, fromMe: boolean, cursor: string } | null, sentBy: { id: string, fullName: string | null } | null } };

export type SendAudioMutationVariables = Exact<{
  instanceId: string | number;
  contactId: string | number;
  audio: File;
  idempotencyKey?: string | null | undefined;
}>;


export type SendAudioMutation = { sendMessage: { id: string, instanceId: string, contactId: string, messageId: string, fromMe: boolean, messageType: MessageType, textContent: string | null, quotedMessageId: string | null, cursor: string, status: MessageStatus, error: string | null, senderName: string | null, metadata: unknown, deleted: boolean, timestamp: string, mediaState: MediaState | null, mediaError: string | null, mediaMimeType: string | null, mediaFilename: string | null, mediaSize: number | null, mediaSeconds: number | null, mediaUrl: string | null, m4aUrl: string | null, quotedMessage: { id: string, textContent: string | null, messageType: MessageType, fromMe: boolean, cursor: string } | null, sentBy: { id: string, fullName: string | null } | null } };

export type SendMediaMutationVariables = Exact<{
  instanceId: string | number;
  contactId: string | number;
  messageType: OutgoingMessageType;
  media: File;
  caption?: string | null | undefined;
  fileName?: string | null | undefined;
  idempotencyKey?: string | null | undefined;
}>;


export type SendMediaMutation = { sendMessage: { id: string, instanceId: string, contactId: string, messageId: string, fromMe: boolean, messageType: MessageType, textContent: string | null, quotedMessageId: string | null, cursor: string, status: MessageStatus, error: string | null, senderName: string | null, metadata: unknown, deleted: boolean, timestamp: string, mediaState: MediaState | null, mediaError: string | null, mediaMimeType: string | null, mediaFilename: string | null, mediaSize: number | null, mediaSeconds: number | null, mediaUrl: string | null, m4aUrl: string | null, quotedMessage: { id: string, textContent: string | null, messageType: MessageType, fromMe: boolean, cursor: string } | null, sentBy: { id: string, fullName: string | null } | null } };

export type RetryMessageMutationVariables = Exact<{
  id: string | number;
}>;


export type RetryMessageMutation = { retryMessage: { id: string, instanceId: string, contactId: string, messageId: string, fromMe: boolean, messageType: MessageType, textContent: string | null, quotedMessageId: string | null, cursor: string, status: MessageStatus, error: string | null, senderName: string | null, metadata: unknown, deleted: boolean, timestamp: string, mediaState: MediaState | null, mediaError: string | null, mediaMimeType: string | null, mediaFilename: string | null, mediaSize: number | null, mediaSeconds: number | null, mediaUrl: string | null, m4aUrl: string | null, quotedMessage: { id: string, textContent: string | null, messageType: MessageType, fromMe: boolean, cursor: string } | null, sentBy: { id: string, fullName: string | null } | null } };

export type SendPresenceMutationVariables = Exact<{
  contactId: string | number;
  presence: Presence;
}>;


export type SendPresenceMutation = { sendPresence: boolean };

export type AvailabilityQueryVariables = Exact<{
  instanceId: string | number;
}>;


export type AvailabilityQuery = { availability: { isAvailableNow: boolean, nextAvailableAt: string | null, timezone: string } };

export type ProfilesQueryVariables = Exact<{
  instanceId?: string | number | null | undefined;
}>;


export type ProfilesQuery = { profiles: Array<{ id: string, fullName: string | null, email: string | null, role: ProfileRole }> };

export type AssignContactMutationVariables = Exact<{
  contactId: string | number;
  profileId?: string | number | null | undefined;
}>;


export type AssignContactMutation = { assignContact: { id: string, status: ConversationStatus, assignee: { id: string, fullName: string | null } | null } };

export type SetContactStatusMutationVariables = Exact<{
  contactId: string | number;
  status: ConversationStatus;
}>;


export type SetContactStatusMutation = { setContactStatus: { id: string, status: ConversationStatus, openedAt: string | null, firstResponseAt: string | null, resolvedAt: string | null, assignee: { id: string, fullName: string | null } | null } };

export type AddNoteMutationVariables = Exact<{
  contactId: string | number;
  text: string;
}>;


export type AddNoteMutation = { addNote: { id: string, instanceId: string, contactId: string, messageId: string, fromMe: boolean, messageType: MessageType, textContent: string | null, quotedMessageId: string | null, cursor: string, status: MessageStatus, error: string | null, senderName: string | null, metadata: unknown, deleted: boolean, timestamp: string, mediaState: MediaState | null, mediaError: string | null, mediaMimeType: string | null, mediaFilename: string | null, mediaSize: number | null, mediaSeconds: number | null, mediaUrl: string | null, m4aUrl: string | null, quotedMessage: { id: string, textContent: string | null, messageType: MessageType, fromMe: boolean, cursor: string } | null, sentBy: { id: string, fullName: string | null } | null } };

export type SetContactLabelsMutationVariables = Exact<{
  contactId: string | number;
  labels: Array<string> | string;
}>;


export type SetContactLabelsMutation = { setContactLabels: { id: string, labels: Array<string> } };

export type LabelsQueryVariables = Exact<{
  instanceId: string | number;
  prefix?: string | null | undefined;
}>;


export type LabelsQuery = { labels: Array<{ label: string, count: number }> };

export type ReportQueryVariables = Exact<{
  instanceId?: string | number | null | undefined;
  from: string;
  to: string;
}>;


export type ReportQuery = { report: { from: string, to: string, conversations: number, resolved: number, messagesReceived: number, messagesSent: number, firstResponseSeconds: { p50: number | null, p90: number | null }, resolutionSeconds: { p50: number | null, p90: number | null }, byAgent: Array<{ conversations: number, resolved: number, messagesSent: number, profile: { id: string, fullName: string | null } | null, firstResponseSeconds: { p50: number | null, p90: number | null }, resolutionSeconds: { p50: number | null, p90: number | null } }> } };

export type ContactPanelQueryVariables = Exact<{
  id: string | number;
}>;


export type ContactPanelQuery = { contact: { remoteJid: string, clientMatchAmbiguous: boolean, createdAt: string, id: string, instanceId: string, name: string | null, pushName: string | null, phoneNumber: string | null, profilePictureUrl: string | null, contactType: ContactType, isGroup: boolean, unreadCount: number, lastMessageAt: string | null, status: ConversationStatus, labels: Array<string>, openedAt: string | null, firstResponseAt: string | null, resolvedAt: string | null, client: { id: string, name: string, phone: string | null, email: string | null, document: string | null, notes: string | null } | null, interactions: { firstMessageAt: string | null, lastMessageAt: string | null, incomingCount: number, outgoingCount: number, lastAutoReplyAt: string | null }, lastMessage: { id: string, messageType: MessageType, textContent: string | null, fromMe: boolean, status: MessageStatus, timestamp: string } | null, assignee: { id: string, fullName: string | null } | null } | null };

export type UpdateContactMutationVariables = Exact<{
  id: string | number;
  input: UpdateContactInput;
}>;


export type UpdateContactMutation = { updateContact: { clientMatchAmbiguous: boolean, id: string, instanceId: string, name: string | null, pushName: string | null, phoneNumber: string | null, profilePictureUrl: string | null, contactType: ContactType, isGroup: boolean, unreadCount: number, lastMessageAt: string | null, status: ConversationStatus, labels: Array<string>, openedAt: string | null, firstResponseAt: string | null, resolvedAt: string | null, lastMessage: { id: string, messageType: MessageType, textContent: string | null, fromMe: boolean, status: MessageStatus, timestamp: string } | null, client: { id: string, name: string } | null, assignee: { id: string, fullName: string | null } | null } };

export type ClientsQueryVariables = Exact<{
  search?: string | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type ClientsQuery = { clients: { edges: Array<{ cursor: string, node: { id: string, name: string, phone: string | null, email: string | null, document: string | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type CreateClientFromContactMutationVariables = Exact<{
  contactId: string | number;
  input: CreateClientInput;
}>;


export type CreateClientFromContactMutation = { createClientFromContact: { id: string, instanceId: string, name: string | null, pushName: string | null, phoneNumber: string | null, profilePictureUrl: string | null, contactType: ContactType, isGroup: boolean, unreadCount: number, lastMessageAt: string | null, status: ConversationStatus, labels: Array<string>, openedAt: string | null, firstResponseAt: string | null, resolvedAt: string | null, client: { id: string, name: string, phone: string | null, email: string | null, document: string | null, notes: string | null } | null, lastMessage: { id: string, messageType: MessageType, textContent: string | null, fromMe: boolean, status: MessageStatus, timestamp: string } | null, assignee: { id: string, fullName: string | null } | null } };

export type SettingsFieldsFragment = { id: string, instanceId: string, rejectCalls: boolean, rejectCallMessage: string | null, ignoreGroups: boolean, alwaysOnline: boolean, readMessages: boolean, readStatus: boolean, autoReplyEnabled: boolean, autoReplyMessage: string | null, autoReplyCooldownMinutes: number, availabilitySchedule: unknown, timezone: string, updatedAt: string };

export type InstanceSettingsQueryVariables = Exact<{
  instanceId: string | number;
}>;


export type InstanceSettingsQuery = { instanceSettings: { id: string, instanceId: string, rejectCalls: boolean, rejectCallMessage: string | null, ignoreGroups: boolean, alwaysOnline: boolean, readMessages: boolean, readStatus: boolean, autoReplyEnabled: boolean, autoReplyMessage: string | null, autoReplyCooldownMinutes: number, availabilitySchedule: unknown, timezone: string, updatedAt: string }, availability: { isAvailableNow: boolean, nextAvailableAt: string | null, timezone: string } };

export type UpdateInstanceSettingsMutationVariables = Exact<{
  instanceId: string | number;
  input: InstanceSettingsInput;
}>;


export type UpdateInstanceSettingsMutation = { updateInstanceSettings: { id: string, instanceId: string, rejectCalls: boolean, rejectCallMessage: string | null, ignoreGroups: boolean, alwaysOnline: boolean, readMessages: boolean, readStatus: boolean, autoReplyEnabled: boolean, autoReplyMessage: string | null, autoReplyCooldownMinutes: number, availabilitySchedule: unknown, timezone: string, updatedAt: string } };

export type AddInstanceMemberMutationVariables = Exact<{
  instanceId: string | number;
  profileId: string | number;
}>;


export type AddInstanceMemberMutation = { addInstanceMember: { id: string, members: Array<{ id: string, fullName: string | null, email: string | null, role: ProfileRole }> } };

export type RemoveInstanceMemberMutationVariables = Exact<{
  instanceId: string | number;
  profileId: string | number;
}>;


export type RemoveInstanceMemberMutation = { removeInstanceMember: { id: string, members: Array<{ id: string, fullName: string | null, email: string | null, role: ProfileRole }> } };

export type QuickMessageFieldsFragment = { id: string, shortcut: string, messageText: string, description: string | null, updatedAt: string };

export type QuickMessagesQueryVariables = Exact<{
  search?: string | null | undefined;
}>;


export type QuickMessagesQuery = { quickMessages: Array<{ id: string, shortcut: string, messageText: string, description: string | null, updatedAt: string }> };

export type RenderQuickMessageQueryVariables = Exact<{
  shortcut: string;
  contactId: string | number;
}>;


export type RenderQuickMessageQuery = { renderQuickMessage: string };

export type SendQuickMessageMutationVariables = Exact<{
  instanceId: string | number;
  contactId: string | number;
  shortcut: string;
  idempotencyKey?: string | null | undefined;
}>;


export type SendQuickMessageMutation = { sendMessage: { id: string, instanceId: string, contactId: string, messageId: string, fromMe: boolean, messageType: MessageType, textContent: string | null, quotedMessageId: string | null, cursor: string, status: MessageStatus, error: string | null, senderName: string | null, metadata: unknown, deleted: boolean, timestamp: string, mediaState: MediaState | null, mediaError: string | null, mediaMimeType: string | null, mediaFilename: string | null, mediaSize: number | null, mediaSeconds: number | null, mediaUrl: string | null, m4aUrl: string | null, quotedMessage: { id: string, textContent: string | null, messageType: MessageType, fromMe: boolean, cursor: string } | null, sentBy: { id: string, fullName: string | null } | null } };

export type CreateQuickMessageMutationVariables = Exact<{
  input: QuickMessageInput;
}>;


export type CreateQuickMessageMutation = { createQuickMessage: { id: string, shortcut: string, messageText: string, description: string | null, updatedAt: string } };

export type UpdateQuickMessageMutationVariables = Exact<{
  id: string | number;
  input: UpdateQuickMessageInput;
}>;


export type UpdateQuickMessageMutation = { updateQuickMessage: { id: string, shortcut: string, messageText: string, description: string | null, updatedAt: string } };

export type DeleteQuickMessageMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteQuickMessageMutation = { deleteQuickMessage: string };

export type NodeQueryVariables = Exact<{
  id: string | number;
}>;


export type NodeQuery = { node:
    | { __typename: 'Client', phone: string | null, email: string | null, id: string, clientName: string }
    | { __typename: 'Contact', id: string, instanceId: string, name: string | null, pushName: string | null, phoneNumber: string | null, profilePictureUrl: string | null, contactType: ContactType, isGroup: boolean, unreadCount: number, lastMessageAt: string | null, status: ConversationStatus, labels: Array<string>, openedAt: string | null, firstResponseAt: string | null, resolvedAt: string | null, lastMessage: { id: string, messageType: MessageType, textContent: string | null, fromMe: boolean, status: MessageStatus, timestamp: string } | null, client: { id: string, name: string } | null, assignee: { id: string, fullName: string | null } | null }
    | { __typename: 'Instance', displayName: string, phoneNumber: string | null, id: string, instanceStatus: InstanceStatus }
    | { __typename: 'Message', messageType: MessageType, textContent: string | null, fromMe: boolean, timestamp: string, mediaUrl: string | null, id: string, messageStatus: MessageStatus }
    | { __typename: 'Profile', fullName: string | null, role: ProfileRole, id: string }
    | { __typename: 'QuickMessage', id: string, shortcut: string, messageText: string, description: string | null, updatedAt: string }
   | null };

export type NodesQueryVariables = Exact<{
  ids: Array<string | number> | string | number;
}>;


export type NodesQuery = { nodes: Array<
    | { __typename: 'Client', id: string, clientName: string }
    | { __typename: 'Contact', name: string | null, unreadCount: number, id: string, lastMessage: { id: string, textContent: string | null } | null }
    | { __typename: 'Instance', displayName: string, id: string, instanceStatus: InstanceStatus }
    | { __typename: 'Message', textContent: string | null, status: MessageStatus, timestamp: string, id: string }
    | { __typename: 'Profile', fullName: string | null, id: string }
    | { __typename: 'QuickMessage', shortcut: string, id: string }
   | null> };

export type ExportContactDataMutationVariables = Exact<{
  contactId: string | number;
}>;


export type ExportContactDataMutation = { exportContactData: { url: string, expiresAt: string } };

export type EraseContactMutationVariables = Exact<{
  contactId: string | number;
  reason: string;
}>;


export type EraseContactMutation = { eraseContact: string };
