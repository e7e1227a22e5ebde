"""Conversations and what agents send: contacts and their list, the company's client base
linked to contacts, sending (text, quick replies, media) through the outbox worker, message
status transitions, and read receipts."""
