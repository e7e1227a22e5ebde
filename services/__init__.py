"""The rules of the product, grouped by domain; nothing here knows GraphQL or HTTP routes.

Domains: `webhooks` (what Evolution API sends us), `messaging` (conversations and what agents
send), `media`, `instances` (WhatsApp numbers on Evolution), `automation` (replies the system
makes by itself), `identity` (who is asking and what they may see). `common` holds value rules
several domains share, `platform` the process machinery (settings, runtime, workers, live events,
logs, metrics). `errors` is the one error contract every layer speaks.
"""
