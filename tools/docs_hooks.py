"""MkDocs hooks of palbench's documentation site: the config reference page is generated from
the components themselves (palbench.reference) at every build, so it cannot drift."""

MARKER = "<!-- palbench:config-reference -->"


def on_page_markdown(markdown, page, config, files):
    if MARKER not in markdown:
        return markdown
    from palbench.reference import markdown as reference

    return markdown.replace(MARKER, reference())
