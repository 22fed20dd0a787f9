"""The fleet controller and the client cabinet (issue 5): FastAPI + SQLModel; imports protocol/."""
