"""The command line and the configs: one-line checks of what a user typed, the options ``conf/`` offers,
and what Hydra needs registered before it composes (the configs' resolvers, the strategy schema).
Importing the package registers both."""

from auglab.config import resolvers, strategy_schema

resolvers.register()
strategy_schema.register()
