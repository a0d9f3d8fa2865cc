"""The web layer the node and the hub share: what both apps' pages and APIs do alike.

``schemas`` (the input schemas of every form and API call, so a hub officer's action is
checked by the same rules as a commune officer's), ``site`` (the app-factory steps and this
package's templates and static files), ``i18n`` (Vietnamese first, English on request),
``errors`` (JSON or the error page), ``auth`` (log-in, sessions, roles, CSRF, headers),
``public`` (the public status page), ``reports`` (the report blueprint) and ``context``
(the app's database and clock). Each app gives what is its own as parameters: its account
table, its data source, its JSON style. Neither app is imported from here: the apps import
this package.
"""
