import sys

from bot.entry import main

sys.exit(main())
