"""Hertfordshire community safety assistant: residents' questions about policing answered
on Telegram, on a web page and in the terminal.

``content`` reads and checks the staff's YAML; ``matching`` turns a message into a reply;
``storage`` keeps the question log; ``app`` is the application layer every channel uses;
``telegram`` and ``web`` are channels, ``console`` the terminal chat, ``cli`` the staff
command line and ``entry`` the entry point (``python -m bot``).
"""
