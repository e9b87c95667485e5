"""The page a one-time link opens: nothing secret until a person clicks, then the password.

One small inline script and one inline style, allowed by their SHA-256 hashes in the
Content-Security-Policy, which are computed here from the very text the page carries,
so the two cannot drift apart. No framework, no font or script from elsewhere.

The script reads the link's key from the URL fragment (which a browser never sends),
checks it is a usable P-256 key before spending the link, POSTs `{}` to
`{page}/reveal`, opens the answer with WebCrypto (ECDH with the ephemeral key, HKDF-SHA256,
AES-256-GCM, contract 1c), shows the password with a copy button, and clears the
fragment from the address bar and history entry.
"""

from __future__ import annotations

import base64
import hashlib
from enum import Enum
from html import escape

from secret_links.crypto import HKDF_INFO

STYLE = """
:root { color-scheme: light dark; --ink: #1b1b1b; --paper: #ffffff; --accent: #0a58a6;
  --soft: #eef2f6; }
@media (prefers-color-scheme: dark) {
  :root { --ink: #f1f1f1; --paper: #15181c; --accent: #7db7f0; --soft: #242a31; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--paper); color: var(--ink);
  font: 1.125rem/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 36rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.25; }
button { font: inherit; font-weight: 600; min-height: 2.75rem; padding: 0.5rem 1.25rem;
  border: 2px solid var(--accent); border-radius: 0.4rem; cursor: pointer;
  background: var(--accent); color: var(--paper); }
button.secondary { background: transparent; color: var(--accent); }
button:disabled { opacity: 0.6; cursor: wait; }
button:focus-visible, #password:focus-visible { outline: 3px solid var(--ink);
  outline-offset: 3px; }
#password { display: block; margin: 0.5rem 0 1rem; padding: 0.75rem 1rem;
  background: var(--soft); border-radius: 0.4rem; font-size: 1.4rem; letter-spacing: 0.06em;
  font-family: ui-monospace, "Cascadia Mono", Consolas, Menlo, monospace;
  overflow-wrap: anywhere; user-select: all; }
.advice { border-left: 4px solid var(--accent); padding-left: 0.75rem; }
"""

SCRIPT = """
"use strict";
(() => {
  const reveal = document.getElementById("reveal");
  const message = document.getElementById("message");
  const result = document.getElementById("result");
  const output = document.getElementById("password");
  const copy = document.getElementById("copy");
  const path = location.pathname.replace(/\\/+$/, "");
  const linkId = path.slice(path.lastIndexOf("/") + 1);
  const utf8 = new TextEncoder();
  const curve = { name: "ECDH", namedCurve: "P-256" };
  const say = (text) => { message.textContent = text; };
  const bytes = (text) => {
    if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new Error("base64url");
    const padding = "==".slice(0, (4 - text.length % 4) % 4);
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + padding;
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  };
  const text = (data) => btoa(String.fromCharCode(...data))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const forget = () => history.replaceState(null, "", location.pathname + location.search);

  const importKey = (fragment) => {
    const raw = bytes(fragment);
    if (raw.length !== 96) throw new Error("key length");
    const jwk = { kty: "EC", crv: "P-256", d: text(raw.subarray(0, 32)),
      x: text(raw.subarray(32, 64)), y: text(raw.subarray(64, 96)), ext: false };
    return crypto.subtle.importKey("jwk", jwk, curve, false, ["deriveBits"]);
  };

  const open = async (key, sealed) => {
    const ephemeral = await crypto.subtle.importKey(
      "raw", bytes(sealed.ephemeralPublicKey), curve, false, []);
    const shared = await crypto.subtle.deriveBits({ name: "ECDH", public: ephemeral }, key, 256);
    const hkdf = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    const aes = await crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: utf8.encode(linkId), info: utf8.encode("%INFO%") },
      hkdf, { name: "AES-GCM", length: 256 }, false, ["decrypt"]);
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes(sealed.nonce), additionalData: utf8.encode(linkId),
        tagLength: 128 }, aes, bytes(sealed.ciphertext));
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  };

  reveal.addEventListener("click", async () => {
    reveal.disabled = true;
    let key;
    try {
      key = await importKey(location.hash.slice(1));
    } catch {
      say("This link is incomplete. Open it again exactly as you received it.");
      reveal.disabled = false;
      return;
    }
    say("Opening\\u2026");
    let answer;
    try {
      answer = await fetch(path + "/reveal", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: "{}",
        cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" });
    } catch {
      say("The password could not be fetched. Check your connection and try again.");
      reveal.disabled = false;
      return;
    }
    if (answer.status === 409) {
      say("Your password is not ready yet. Try again in a minute.");
      reveal.disabled = false;
      return;
    }
    if (answer.status === 404) {
      forget();
      reveal.hidden = true;
      say("This link was opened already or has expired. Ask your helpdesk for a new one.");
      return;
    }
    if (!answer.ok) {
      say("The password cannot be shown right now. Try again in a few minutes.");
      reveal.disabled = false;
      return;
    }
    try {
      output.textContent = await open(key, await answer.json());
    } catch {
      forget();
      reveal.hidden = true;
      say("The password could not be decrypted. Ask your helpdesk for a new link.");
      return;
    }
    forget();
    reveal.hidden = true;
    result.hidden = false;
    say("This link has now been used and will not work again.");
    output.focus();
  });

  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(output.textContent);
      say("Copied. This link has now been used and will not work again.");
    } catch {
      const range = document.createRange();
      range.selectNodeContents(output);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      say("The password is selected: press Ctrl+C (or \\u2318+C) to copy it.");
    }
  });
})();
""".replace("%INFO%", HKDF_INFO.decode("ascii"))


def _source_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        f"script-src {_source_hash(SCRIPT)}",
        f"style-src {_source_hash(STYLE)}",
        "connect-src 'self'",
        "img-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

_ADVICE = (
    '<p class="advice">You must change this password the first time you sign in: you will '
    "be asked to choose a new one. Do not send it to anyone.</p>"
)


class View(Enum):
    """What the page says; only READY carries the button and the script."""

    READY = "ready"
    GONE = "gone"
    UNAVAILABLE = "unavailable"


_BODIES = {
    View.READY: f"""<h1>Your new password</h1>
<p>Your helpdesk has set a new password for your account. It can be shown once: after you
show it, this link stops working.</p>
{_ADVICE}
<p><button type="button" id="reveal">Show my password</button></p>
<p id="message" role="status" aria-live="polite"></p>
<section id="result" aria-labelledby="result-title" hidden>
<h2 id="result-title">Your password</h2>
<code id="password" tabindex="-1"></code>
<button type="button" id="copy" class="secondary">Copy password</button>
</section>""",
    View.GONE: """<h1>This link has expired or was already used</h1>
<p>A password link works once and for a limited time. If you did not see your password,
ask your helpdesk for a new one.</p>""",
    View.UNAVAILABLE: """<h1>Your password cannot be shown right now</h1>
<p>Try this link again in a few minutes. It has not been used up.</p>""",
}

_TITLES = {
    View.READY: "Your new password",
    View.GONE: "Link expired or used",
    View.UNAVAILABLE: "Try again later",
}


def render(view: View) -> str:
    script = f"\n<script>{SCRIPT}</script>" if view is View.READY else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{escape(_TITLES[view])}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
{_BODIES[view]}
</main>{script}
</body>
</html>
"""
