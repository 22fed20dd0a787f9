"""Electronic document exchange (ЭДО): the client's operator connection, the monthly closing
documents (УПД) and the gateway that carries them. docs/integrations.md."""
