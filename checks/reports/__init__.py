"""Renderings of risk findings for people and CI systems: Markdown, Mermaid and the model report."""
