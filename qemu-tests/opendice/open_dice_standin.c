// SPDX-License-Identifier: GPL-2.0-only
/*
 * open-dice stand-in for the QEMU tests of microdroid-rs.
 *
 * Debian's kernels are built without CONFIG_OPEN_DICE, so this small module gives
 * the test guests the user ABI of Linux's open-dice driver (drivers/misc/open-dice.c):
 *
 *   - it binds to the "google,open-dice" child of /reserved-memory (the kernel
 *     creates a platform device for such nodes) and registers the misc device
 *     "open-dice<N>" (mode 0600) over that region;
 *   - read() returns the region size as a native-endian unsigned long (u64 on
 *     arm64), honouring the file offset;
 *   - mmap() maps the region from offset 0, write-combined; shared writable mappings
 *     are refused and neither kind of mapping can later be upgraded to one;
 *   - write() of anything zeroes the whole region and consumes the buffer (which is
 *     never read).
 *
 * Test hooks beyond that ABI: it logs the region at probe and
 * "open-dice stand-in: wiped <n> bytes" after each wipe, so tests see the wipe on
 * the console even when the boot ends right after it.
 *
 * Written for the tests; not derived from the upstream driver's code.
 */

#include <linux/fs.h>
#include <linux/io.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/of_reserved_mem.h>
#include <linux/platform_device.h>
#include <linux/string.h>
#include <linux/uaccess.h>

struct dice_standin {
	struct miscdevice misc;
	/* Serialises wipes against each other. */
	struct mutex wipe_lock;
	phys_addr_t base;
	unsigned long size;
	char name[16];
};

static atomic_t standin_count = ATOMIC_INIT(0);

static struct dice_standin *standin_of(struct file *file)
{
	/* misc_open() leaves the struct miscdevice in private_data. */
	return container_of(file->private_data, struct dice_standin, misc);
}

static ssize_t standin_read(struct file *file, char __user *buf, size_t len,
			    loff_t *pos)
{
	unsigned long size = standin_of(file)->size;

	return simple_read_from_buffer(buf, len, pos, &size, sizeof(size));
}

static int standin_wipe(struct dice_standin *d)
{
	void *va;

	mutex_lock(&d->wipe_lock);
	va = memremap(d->base, d->size, MEMREMAP_WC);
	if (!va) {
		mutex_unlock(&d->wipe_lock);
		return -ENOMEM;
	}
	memset(va, 0, d->size);
	memunmap(va);
	mutex_unlock(&d->wipe_lock);
	pr_info("open-dice stand-in: wiped %lu bytes\n", d->size);
	return 0;
}

static ssize_t standin_write(struct file *file, const char __user *buf,
			     size_t len, loff_t *pos)
{
	int err = standin_wipe(standin_of(file));

	return err ? -EIO : len;
}

static int standin_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct dice_standin *d = standin_of(file);
	unsigned long len = vma->vm_end - vma->vm_start;

	if ((vma->vm_flags & (VM_SHARED | VM_WRITE)) == (VM_SHARED | VM_WRITE))
		return -EPERM;
	if (vma->vm_pgoff != 0 || len > PAGE_ALIGN(d->size))
		return -EINVAL;
	/* No later mprotect()/fork() may turn this into a writable shared view. */
	if (vma->vm_flags & VM_SHARED)
		vma->vm_flags &= ~VM_MAYWRITE;
	else
		vma->vm_flags &= ~VM_MAYSHARE;
	vma->vm_flags |= VM_DONTCOPY | VM_DONTDUMP;
	vma->vm_page_prot = pgprot_writecombine(vma->vm_page_prot);
	return remap_pfn_range(vma, vma->vm_start, PHYS_PFN(d->base), len,
			       vma->vm_page_prot);
}

static const struct file_operations standin_fops = {
	.owner = THIS_MODULE,
	.read = standin_read,
	.write = standin_write,
	.mmap = standin_mmap,
	.llseek = default_llseek,
};

static int standin_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct reserved_mem *rmem = of_reserved_mem_lookup(dev->of_node);
	struct dice_standin *d;
	int err;

	if (!rmem) {
		dev_err(dev, "open-dice stand-in: node is not a reserved-memory region\n");
		return -EINVAL;
	}
	if (!rmem->size || !PAGE_ALIGNED(rmem->base) || !PAGE_ALIGNED(rmem->size)) {
		dev_err(dev, "open-dice stand-in: region %pa+%pa is not page-aligned\n",
			&rmem->base, &rmem->size);
		return -EINVAL;
	}
	d = devm_kzalloc(dev, sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	mutex_init(&d->wipe_lock);
	d->base = rmem->base;
	d->size = rmem->size;
	snprintf(d->name, sizeof(d->name), "open-dice%d",
		 atomic_inc_return(&standin_count) - 1);
	d->misc.minor = MISC_DYNAMIC_MINOR;
	d->misc.name = d->name;
	d->misc.fops = &standin_fops;
	d->misc.parent = dev;
	d->misc.mode = 0600;
	err = misc_register(&d->misc);
	if (err) {
		dev_err(dev, "open-dice stand-in: misc_register %s: %d\n", d->name, err);
		return err;
	}
	platform_set_drvdata(pdev, d);
	dev_info(dev, "open-dice stand-in: /dev/%s over %pa, %lu bytes\n",
		 d->name, &d->base, d->size);
	return 0;
}

static int standin_remove(struct platform_device *pdev)
{
	struct dice_standin *d = platform_get_drvdata(pdev);

	misc_deregister(&d->misc);
	return 0;
}

static const struct of_device_id standin_of_match[] = {
	{ .compatible = "google,open-dice" },
	{}
};
MODULE_DEVICE_TABLE(of, standin_of_match);

static struct platform_driver standin_driver = {
	.probe = standin_probe,
	.remove = standin_remove,
	.driver = {
		.name = "open-dice-standin",
		.of_match_table = standin_of_match,
		/* No unbinding through sysfs while a mapping may be live. */
		.suppress_bind_attrs = true,
	},
};
module_platform_driver(standin_driver);

MODULE_DESCRIPTION("open-dice user ABI stand-in for QEMU tests");
MODULE_LICENSE("GPL");
