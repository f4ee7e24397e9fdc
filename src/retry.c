/*
 * retry.c — the retry rules (see retry.h).
 */
#include "retry.h"

enum ec_retry ec_retry_decide(const struct ec_retry_in *in)
{
	if (in->resp_byte)
		return EC_RETRY_NONE;
	switch (in->err) {
	case EC_FETCH_E_CONNECT:
	case EC_FETCH_E_CONNECT_TIMEOUT:
		return in->retries_left > 0 ? EC_RETRY_OTHER : EC_RETRY_NONE;
	case EC_FETCH_E_CLOSED:
		if (!in->idempotent || in->body_pulled)
			return EC_RETRY_NONE;
		if (in->reused && !in->retried_reuse && !in->backend_down)
			return EC_RETRY_SAME_FRESH;
		return in->retries_left > 0 ? EC_RETRY_OTHER : EC_RETRY_NONE;
	default:
		return EC_RETRY_NONE;
	}
}
