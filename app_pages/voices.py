"""Voices: the people the library knows, their recordings over time, a sample to listen to, and changes.

A voice is made by naming a speaker on a task page with "Remember this voice" ticked; later recordings
of the person are suggested the name (``services.voices``).
"""

import streamlit as st

from services.runtime.context import get_context
from ui.sign_in import gate
from ui.voices_view import choose, render_changes, render_list, render_voice

gate()
ctx = get_context()
st.title("Voices")

if not ctx.voices.enabled:
    st.info("The voice library is switched off (VOICE_LIBRARY=false): no voice is kept or suggested.")
    st.stop()

voices = ctx.voices.list_voices()
if not voices:
    st.info(
        "No voice yet. Name a speaker on a task page with “Remember this voice” ticked: later recordings "
        "of that person are then suggested the name."
    )
    st.page_link("app_pages/history.py", label="Go to History", icon=":material/history:")
    st.stop()

render_list(voices)
voice = choose(voices)
render_voice(voice, ctx)
render_changes(voice, voices, ctx)
