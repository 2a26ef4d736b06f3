"""E17: presentation imported by page.py through the module cache."""

TITLE = "Module caching"


def render(body):
    return "<html><head><title>%s</title></head><body>%s</body></html>" % (
        TITLE, body)
