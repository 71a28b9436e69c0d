/*
 * Intrusive lists, as macros over any struct with the named link fields.
 *
 * LIST_LINK / LIST_UNLINK: a doubly linked list through `next` and `prev`,
 * head a plain pointer; both O(1).
 * CHAIN_UNLINK: a singly linked chain (a list or a hash bucket) through any
 * field, walked from the head: x taken out when found, else nothing.
 */
#ifndef KEFU_LIB_LIST_H
#define KEFU_LIB_LIST_H

#define LIST_LINK(head, x)                   \
	do {                                 \
		(x)->prev = NULL;            \
		(x)->next = (head);          \
		if (head)                    \
			(head)->prev = (x);  \
		(head) = (x);                \
	} while (0)

#define LIST_UNLINK(head, x)                         \
	do {                                         \
		if ((x)->prev)                       \
			(x)->prev->next = (x)->next; \
		else                                 \
			(head) = (x)->next;          \
		if ((x)->next)                       \
			(x)->next->prev = (x)->prev; \
	} while (0)

#define CHAIN_UNLINK(headp, x, field)                    \
	do {                                             \
		__typeof__(x) *pp_ = (headp);            \
		while (*pp_ && *pp_ != (x))              \
			pp_ = &(*pp_)->field;            \
		if (*pp_)                                \
			*pp_ = (x)->field;               \
	} while (0)

#endif
