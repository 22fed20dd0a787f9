"""«Как подключиться к облачной кассе»: integration guides filled in from the client's own
account, and the sandbox's "send a test receipt" button. docs/integrations.md."""
