"""The realtime platform under the chat gateway: events and their audiences, the bus that rings
the channel layer, the replay store, the cluster-wide connection registry, the process hub, the
client-message registry and the delivery decision. It knows users, channels and servers only by
id; what a message or a channel means is chat's (docs/realtime.md; the layer order:
docs/decisions.md, "Layers between apps")."""
