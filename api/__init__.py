"""The doors into Headwater: the Typer CLI (`api.cli`) and, later, the FastAPI app."""
