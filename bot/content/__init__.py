"""Staff content: reading and checking the YAML in intents/ and knowledge/, and review edits.

Owns: problems, YAML nodes, facts, intents, matching and danger settings, answer templates.
May import: bot.text and bot.settings only (never matching, storage, telegram or the CLI).
"""
