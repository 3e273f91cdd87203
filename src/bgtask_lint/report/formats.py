"""The output formats, named once: the command line offers them before it imports the renderers."""

FORMATS = ("full", "concise", "json", "json-lines", "github", "gitlab", "sarif", "junit")
EDIT_FORMATS = frozenset({"full", "json", "json-lines", "sarif"})  # the formats that show a fix's edits
