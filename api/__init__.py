"""The doors into Headwater: the Typer CLI (`api.cli`), the FastAPI app (`api.app`) and the lineage viewer."""
