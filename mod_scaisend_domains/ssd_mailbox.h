/* ssd_mailbox: one RFC 5322 mailbox -- "local@domain" or
 * "Display Name <local@domain>", comments allowed -- and nothing else: a
 * second mailbox, a group, a stray '<' or '>' make it invalid. Used for
 * the From: of a message to sign and the from= of sender status. */
#ifndef SSD_MAILBOX_H
#define SSD_MAILBOX_H

#include <apr_pools.h>

/* Parse value (unfolded or not); NULL and *addr, *domain set (domain as
 * written), or an English reason. */
const char *ssd_mailbox_parse(apr_pool_t *p, const char *value,
                              const char **addr, const char **domain);

#endif
