"""One-time password links (contract 1c): keys, the envelope, the table, the page."""
