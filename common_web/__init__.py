"""The web layer the node and the hub share: what both apps' pages and APIs do alike.

Today it holds the input schemas of every form and API call (``schemas``), so that a hub
officer's action is checked by the same rules as a commune officer's. Neither app is imported
from here: the apps import this package.
"""
