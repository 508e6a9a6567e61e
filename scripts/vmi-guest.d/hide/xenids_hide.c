// SPDX-License-Identifier: GPL-2.0
/*
 * Test module for the live-guest introspection tests: hides processes by direct kernel object
 * manipulation, as the recorded hidden-process images were made.
 *
 *   insmod xenids_hide.ko list_pids=P,...   unlinked from init_task.tasks only: the guest's own
 *                                            ps (which reads /proc through the pid IDR) still
 *                                            shows them
 *   insmod xenids_hide.ko full_pids=P,...   also removed from init_pid_ns.idr: gone from /proc,
 *                                            kill(2) no longer finds them
 * Hidden processes keep running and stay in their parent's children list. rmmod puts them back
 * (task list and pid IDR) if they are still alive, so a shared test guest is left as it was.
 *
 * tasklist_lock and pidmap_lock are not exported to modules. On a one-CPU guest whose kernel is
 * not PREEMPT_RT, nobody holds either while this code runs with interrupts off (holders disable
 * preemption, and the writers interrupts), so the edits are atomic; the module refuses to load
 * elsewhere.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/idr.h>
#include <linux/rculist.h>
#include <linux/cpumask.h>

#define MAX_HIDDEN 8

static int list_pids[MAX_HIDDEN];
static int n_list;
module_param_array(list_pids, int, &n_list, 0444);
MODULE_PARM_DESC(list_pids, "pids to unlink from the task list");

static int full_pids[MAX_HIDDEN];
static int n_full;
module_param_array(full_pids, int, &n_full, 0444);
MODULE_PARM_DESC(full_pids, "pids to unlink from the task list and remove from the pid IDR");

struct hidden {
	struct task_struct *task;
	struct pid *pid;
	int nr;
	bool idr;
};

static struct hidden hidden[2 * MAX_HIDDEN];
static int n_hidden;

static int take(int nr, bool idr)
{
	struct pid *pid;
	struct task_struct *t;
	int i;

	for (i = 0; i < n_hidden; i++) {
		if (hidden[i].nr == nr) {
			pr_err("xenids_hide: pid %d given twice\n", nr);
			return -EINVAL;
		}
	}
	pid = find_get_pid(nr);
	if (!pid) {
		pr_err("xenids_hide: no pid %d\n", nr);
		return -ESRCH;
	}
	t = get_pid_task(pid, PIDTYPE_PID);
	if (!t) {
		put_pid(pid);
		pr_err("xenids_hide: pid %d has no task\n", nr);
		return -ESRCH;
	}
	if (!thread_group_leader(t) || (t->flags & PF_KTHREAD) || is_global_init(t)) {
		put_task_struct(t);
		put_pid(pid);
		pr_err("xenids_hide: pid %d is init, a thread or a kernel thread\n", nr);
		return -EINVAL;
	}
	hidden[n_hidden++] = (struct hidden){ .task = t, .pid = pid, .nr = nr, .idr = idr };
	return 0;
}

static void release_all(void)
{
	while (n_hidden > 0) {
		n_hidden--;
		put_task_struct(hidden[n_hidden].task);
		put_pid(hidden[n_hidden].pid);
	}
}

static int __init xenids_hide_init(void)
{
	unsigned long flags;
	int i, err = 0;

	if (IS_ENABLED(CONFIG_PREEMPT_RT) || num_possible_cpus() != 1) {
		pr_err("xenids_hide: needs a one-CPU, non-PREEMPT_RT kernel (locks are not exported)\n");
		return -EOPNOTSUPP;
	}
	for (i = 0; i < n_list && !err; i++)
		err = take(list_pids[i], false);
	for (i = 0; i < n_full && !err; i++)
		err = take(full_pids[i], true);
	if (err || n_hidden == 0) {
		release_all();
		return err ? err : -EINVAL;
	}

	/*
	 * list_del_rcu keeps ->next valid for RCU readers standing on the task (for_each_process);
	 * once they are done, ->tasks points at itself so that the kernel's own list_del_rcu at exit
	 * is harmless.
	 */
	local_irq_save(flags);
	for (i = 0; i < n_hidden; i++) {
		list_del_rcu(&hidden[i].task->tasks);
		if (hidden[i].idr)
			idr_remove(&init_pid_ns.idr, hidden[i].nr);
	}
	local_irq_restore(flags);
	synchronize_rcu();
	local_irq_save(flags);
	for (i = 0; i < n_hidden; i++)
		INIT_LIST_HEAD(&hidden[i].task->tasks);
	local_irq_restore(flags);

	for (i = 0; i < n_hidden; i++)
		pr_info("xenids_hide: hid pid %d (%s) from the task list%s\n", hidden[i].nr,
			hidden[i].task->comm, hidden[i].idr ? " and the pid IDR" : "");
	return 0;
}

static void __exit xenids_hide_exit(void)
{
	unsigned long flags;
	int i;

	local_irq_save(flags);
	for (i = 0; i < n_hidden; i++) {
		struct hidden *h = &hidden[i];

		/* An exited task has left every structure for good: nothing to put back. */
		if (!pid_alive(h->task))
			continue;
		if (list_empty(&h->task->tasks))
			list_add_tail_rcu(&h->task->tasks, &init_task.tasks);
		if (h->idr && !idr_find(&init_pid_ns.idr, h->nr) &&
		    idr_alloc(&init_pid_ns.idr, h->pid, h->nr, h->nr + 1, GFP_ATOMIC) != h->nr)
			pr_err("xenids_hide: pid %d: cannot put it back in the pid IDR\n", h->nr);
	}
	local_irq_restore(flags);
	release_all();
}

module_init(xenids_hide_init);
module_exit(xenids_hide_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("xenids test module: hide processes by unlinking them (DKOM)");
