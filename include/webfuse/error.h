/* libwebfuse: error codes of the library functions (service and provider),
 * not of the provider callbacks (those return negated errno values). */
#ifndef WEBFUSE_ERROR_H
#define WEBFUSE_ERROR_H

#define WF_SUCCESS 0
#define WF_EINVAL (-1)   /* NULL or invalid argument, or wrong state */
#define WF_ENOMEM (-2)
#define WF_ECONNECT (-3) /* could not listen / connect; connection lost without reconnect */
#define WF_ETLS (-4)     /* TLS setup or certificate verification failed */
#define WF_EMOUNT (-5)   /* could not mount (service) */
#define WF_EREFUSED (-6) /* the service refused us for good (provider; see wf_provider_get_status) */

#endif
