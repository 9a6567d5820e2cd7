"""The site only reads: every request other than GET, HEAD or OPTIONS is answered 405.

The database is served immutable (`-i`) and no canned query writes, so nothing on the site
takes a POST, PUT, PATCH or DELETE. Datasette 0.65 answers a POST to a table page with a server
error (an assertion); this wrapper answers every such request with a plain 405 and an `Allow`
header before it reaches Datasette, whatever plugin is added later.
"""

from datasette import hookimpl

READ_METHODS = ("GET", "HEAD", "OPTIONS")


@hookimpl
def asgi_wrapper():
    def wrap(app):
        async def read_only(scope, receive, send):
            if scope["type"] != "http" or scope["method"] in READ_METHODS:
                await app(scope, receive, send)
                return
            await send({"type": "http.response.start", "status": 405,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"allow", ", ".join(READ_METHODS).encode())]})
            await send({"type": "http.response.body", "body": b"This site only reads: use GET.\n"})
        return read_only
    return wrap
