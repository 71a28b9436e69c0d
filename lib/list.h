/*
 * Intrusive lists, as macros over any struct with the named link fields.
 *
 * LIST_LINK / LIST_UNLINK: a doubly linked list through `next` and `prev`,
 * head a plain pointer; both O(1). LIST_LINK_AS / LIST_UNLINK_AS: the same
 * through link fields of other names (an element on two lists).
 * CHAIN_UNLINK: a singly linked chain (a list or a hash bucket) through any
 * field, walked from the head: x taken out when found, else nothing.
 */
#ifndef KEFU_LIB_LIST_H
#define KEFU_LIB_LIST_H

#define LIST_LINK_AS(head, x, prev_, next_)          \
	do {                                         \
		(x)->prev_ = NULL;                   \
		(x)->next_ = (head);                 \
		if (head)                            \
			(head)->prev_ = (x);         \
		(head) = (x);                        \
	} while (0)

#define LIST_UNLINK_AS(head, x, prev_, next_)                \
	do {                                                 \
		if ((x)->prev_)                              \
			(x)->prev_->next_ = (x)->next_;      \
		else                                         \
			(head) = (x)->next_;                 \
		if ((x)->next_)                              \
			(x)->next_->prev_ = (x)->prev_;      \
	} while (0)

#define LIST_LINK(head, x) LIST_LINK_AS(head, x, prev, next)
#define LIST_UNLINK(head, x) LIST_UNLINK_AS(head, x, prev, next)

#define CHAIN_UNLINK(headp, x, field)                    \
	do {                                             \
		__typeof__(x) *pp_ = (headp);            \
		while (*pp_ && *pp_ != (x))              \
			pp_ = &(*pp_)->field;            \
		if (*pp_)                                \
			*pp_ = (x)->field;               \
	} while (0)

#endif
