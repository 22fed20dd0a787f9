"""Who may do what: the permission catalogue, roles, and the principal of a request."""
