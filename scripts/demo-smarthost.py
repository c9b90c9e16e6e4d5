#!/usr/bin/python3
"""scripts/demo-smarthost.py DIR PORT - the demo smarthost for `make run`.

An aiosmtpd server on 127.0.0.1:PORT that behaves like a provider's
submission server: STARTTLS with DIR/smarthost-cert.pem (DNS:localhost),
AUTH PLAIN/LOGIN required (credentials from DIR/smarthost.secret, the same
file subgate uses), and every accepted message saved as DIR/smarthost/N.eml
and announced on stdout. Loopback only; stops with its parent.
"""
import os
import ssl
import sys
import time
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # aiosmtpd 1.4 login_data notice
    directory, port = sys.argv[1], int(sys.argv[2])
    user, _, password = open(os.path.join(directory, "smarthost.secret")).read().strip().partition(":")
    outbox = os.path.join(directory, "smarthost")
    os.makedirs(outbox, exist_ok=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(os.path.join(directory, "smarthost-cert.pem"), os.path.join(directory, "smarthost-key.pem"))

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
            and auth_data.password.decode() == password
        return AuthResult(success=ok)

    class Handler:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Handler.count += 1
            path = os.path.join(outbox, "%d.eml" % Handler.count)
            with open(path, "wb") as f:
                f.write(envelope.original_content)
            print("demo smarthost: received mail from <%s> for %s (%d bytes), saved as %s"
                  % (envelope.mail_from, ", ".join("<%s>" % r for r in envelope.rcpt_tos),
                     len(envelope.original_content), path), flush=True)
            return "250 2.0.0 Ok: delivered to the demo mailbox"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                            authenticator=authenticator, auth_required=True, auth_require_tls=True)
    controller.start()
    try:
        while os.getppid() != 1:
            time.sleep(1)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
