"""The fleet's side of the MQTT link: broker credentials and ACLs, and (later) the ingest."""
