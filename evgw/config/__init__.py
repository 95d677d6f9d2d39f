"""Configuration files declared once: each key's type, default, bounds and help in one place.

`fields` holds the declaration (`setting`, `table`) and the one mapper that validates a TOML
table against it; `checks` the validators; `secret_files` secrets kept in files; `example`
writes an example file from the declarations. The gateway's and the archive's configurations
are both made of these; neither package's own rules live here.
"""
