"""The inbound pipeline: Evolution API webhooks from the route to stored facts.

`receiver` authenticates a request and appends its events to the event log (with `envelope`
parsing the body and `clean_text` repairing text PostgreSQL refuses); `processor` drains the log
per number, in order, and hands each event to `ingest`, which turns it into contacts, messages and
statuses (`message_content` reads Evolution message shapes) and publishes live events. `failures`
tells an outage (retried) from a bad event (set aside); `urls` keeps each number's webhook URL and
secret registered on Evolution.
"""
