"""Backends: each one a subpackage, found through the ``auctionc.backends`` entry-point group.

A backend imports the compiler's public modules (``auctionc.plugins``, ``auctionc.ir``,
``auctionc.mechanism``, ``auctionc.diagnostics``...), never the language
(``auctionc.dsl``) and never another backend; the interface it implements lives in
``auctionc.plugins``."""
