"""The phone channel's core: IVR flows as data and a pure engine that runs them.

- `actions`  the vocabulary between engine and transports: media actions, service actions, events.
- `flow`     a loaded flow (nodes, prompts, data menus), versioned by a content hash.
- `state`    one call's state, JSON round-trippable, pinned to a flow version.
- `engine`   `step(flow, state, event) -> (state, actions)`, pure.
- `turn`     the loop every transport runs: step, perform service actions, step again, render.
- `registry` loaded flow versions by hash, so a live call keeps its version.
- `graph`    the flow as a graph, for validation.
- `media_json` media actions as JSON: a call keeps its last turn to answer a retried webhook.
- `prompt_audio`  which prompts have an audio file (city recording or built), for every transport.
- `prompts_build` `hotline prompts build`: espeak-ng or the city's recordings -> 8 kHz WAVs; `wav` converts.

Flows are loaded and checked with the rest of the city's data (hotline/cityconfig/ivr_loader.py);
`CityConfig.ivr_flows` / `default_flow` hold them. Transports (Twilio Voice, Asterisk ARI, terminal)
only translate their events into `actions` events and render media actions.
"""
