"""What an analyst does with a finished analysis: edits (names, merges, corrections) applied as a
pure view over the result (``edits``), talk-time statistics (``stats``), charts (``charts``) and
export formats (``exports``, ``export_docx``). Depends only on ``services.analysis`` types."""
