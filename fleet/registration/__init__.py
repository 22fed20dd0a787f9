"""Registration of a register with the tax service (КНД 1110061), signed with the user's КЭП."""
