/* While a provider is attached and nothing is asked of it, the service asks
 * it something harmless (getattr "/") every WF_HEARTBEAT_SECS. A browser
 * page cannot see WebSocket pings: silence is its only sign that the device
 * is out of reach (its laptop moved to another network and the old
 * connection went dark), and it reconnects after a while without a word
 * (web/webfuse/provider.js, silenceTimeout). A heartbeat that is not
 * answered only times out, quietly: it does not count towards a stall, so a
 * laptop that sleeps keeps its session. */
#ifndef WF_HEARTBEAT_H
#define WF_HEARTBEAT_H

#define WF_HEARTBEAT_SECS 5

struct wf_service;

/* Starts the beat for the provider just attached; stops it when none is. */
void wf_heartbeat_start(struct wf_service *s);
void wf_heartbeat_stop(struct wf_service *s);

#endif
