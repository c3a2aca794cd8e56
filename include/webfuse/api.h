/* libwebfuse: export macro for the public API.
 *
 * The library is compiled with -fvisibility=hidden; only declarations marked
 * WF_API are exported from libwebfuse.so, and all of them start with wf_. */
#ifndef WEBFUSE_API_H
#define WEBFUSE_API_H

#if defined(__GNUC__) || defined(__clang__)
#define WF_API __attribute__((visibility("default")))
#else
#define WF_API
#endif

#endif
