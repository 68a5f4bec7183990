"""The projects domain: a record of every project generated, and a template's fleet."""
