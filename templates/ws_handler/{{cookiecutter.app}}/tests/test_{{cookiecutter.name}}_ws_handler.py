{%- if cookiecutter.channel -%}
"""{{ cookiecutter.app }}.controllers.{{ cookiecutter.name }}_ws_handler: its callbacks, called directly."""

from {{ cookiecutter.app }}.controllers import {{ cookiecutter.name }}_ws_handler as handler


def test_a_channel_message_is_sent_to_the_client():
    state = {"req": None}
    info = ("nova_pubsub", "{{ cookiecutter.channel }}", None, "message", "Hello Nova!")
    result = handler.websocket_info(info, state)
    assert result == ("reply", ("text", "Hello Nova!"), state)


def test_other_messages_are_ignored():
    state = {"req": None}
    assert handler.websocket_info(("something", "else"), state) == ("ok", state)
    other = ("nova_pubsub", "another-channel", None, "message", "hi")
    assert handler.websocket_info(other, state) == ("ok", state)


def test_binary_frames_are_ignored():
    state = {"req": None}
    assert handler.websocket_handle(("binary", b"\x00"), state) == ("ok", state)
{%- else -%}
"""{{ cookiecutter.app }}.controllers.{{ cookiecutter.name }}_ws_handler: its callbacks, called directly."""

from {{ cookiecutter.app }}.controllers import {{ cookiecutter.name }}_ws_handler as handler


def test_init_accepts():
    state = {"req": None}
    assert handler.init(state) == ("ok", state)


def test_a_text_frame_is_echoed():
    state = {"req": None}
    result = handler.websocket_handle(("text", "Hello Nova!"), state)
    assert result == ("reply", ("text", "Echo: Hello Nova!"), state)


def test_other_frames_are_ignored():
    state = {"req": None}
    assert handler.websocket_handle(("binary", b"\x00"), state) == ("ok", state)


def test_info_messages_are_ignored():
    state = {"req": None}
    assert handler.websocket_info("tick", state) == ("ok", state)
{%- endif %}
