"""The team inbox: who owns a conversation and where it stands, internal notes, labels and
the reports a team lead reads."""
