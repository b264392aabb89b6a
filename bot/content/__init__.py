"""Staff content: reading and checking the YAML in intents/ and knowledge/, and review edits.

Owns: problems, YAML nodes, facts, intents, matching and danger settings, answer templates.
May import: bot.text only (never matching, bot.app, storage, settings or a channel).
"""
