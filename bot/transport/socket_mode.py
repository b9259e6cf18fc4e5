"""The Socket Mode transport: a websocket opened with SLACK_APP_TOKEN, no public endpoint.

slack_bolt's SocketModeHandler on slack_sdk's builtin SocketModeClient (no extra dependency;
proven against the emulator by tests/bot/transport/test_emulator.py). apps.connections.open goes
through the app's one WebClient (bot/app.py): base_url SLACK_API_URL, 429s retried. Reconnects
after a dropped connection are the client's: it checks its connection every `ping_interval`
seconds.
"""

from __future__ import annotations

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot import app as app_mod
from bot import config as config_mod

# Seconds between the client's connection checks (and pings); also the longest time a dropped
# connection stays unnoticed. 10 s is slack_sdk's default.
PING_INTERVAL = 10.0


def handler(
    bot: app_mod.Bot, config: config_mod.BotConfig, ping_interval: float = PING_INTERVAL
) -> SocketModeHandler:
    assert config.app_token, "Socket Mode needs SLACK_APP_TOKEN"
    return SocketModeHandler(
        bot.app,
        app_token=config.app_token,
        web_client=bot.services.slack.client,
        ping_interval=ping_interval,
    )
