/*
 * service_test.c - the poll loop of `auth` and `queue` (service.c): a slot
 * the master gives to a new session in the same round in which the old
 * session's socket hung up is not served until the new session speaks.
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "service.h"

static struct service test_svc;
static unsigned test_requests;

static int test_timeout_ms(void)
{
	return 2000; /* a round never waits for ever, whatever goes wrong */
}

static void test_request(unsigned slot)
{
	test_requests++;
	service_drop(&test_svc, slot); /* what auth does with a frame it cannot read */
}

TEST(service_does_not_serve_a_slot_whose_socket_changed_this_round)
{
	struct proto_new_session ns;
	int master[2], old_session[2], new_session[2];

	CHECK(ipc_pair(master) == 0);
	CHECK(ipc_pair(old_session) == 0);
	CHECK(ipc_pair(new_session) == 0);
	service_init(&test_svc, "test", master[0]);
	test_svc.request = test_request;
	test_svc.timeout_ms = test_timeout_ms;
	test_svc.fds[3] = old_session[0];
	close(old_session[1]); /* the old session is gone: its socket hangs up */
	memset(&ns, 0, sizeof(ns));
	ns.slot = 3;
	CHECK(ipc_send(master[1], PROTO_NEW_SESSION, &ns, sizeof(ns), new_session[1]) == 0);
	close(new_session[1]);
	test_requests = 0;
	service_poll_once(&test_svc);
	CHECK(test_requests == 0); /* the hang-up was the old socket's; the new one has said nothing */
	CHECK(test_svc.fds[3] >= 0);
	CHECK(ipc_send(new_session[0], PROTO_TLS_SIGN, NULL, 0, -1) == 0);
	service_poll_once(&test_svc);
	CHECK(test_requests == 1); /* the new session's frame is served */
	service_drop(&test_svc, 3);
	close(new_session[0]);
	close(master[0]);
	close(master[1]);
}
