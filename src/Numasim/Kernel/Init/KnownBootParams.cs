namespace Numasim.Kernel.Init;

/// <summary>
/// The names the kernel's own boot-option tables hold: every <c>early_param("NAME", ...)</c> and
/// <c>__setup("NAME", ...)</c> outside other architectures' folders in the sources of Debian's linux-source-6.1
/// (6.1.176-1) and linux-source-6.12 (6.12.111-1~deb12u1) packages, as grep finds them. They decide what
/// unknown_bootoption() and obsolete_checksetup(), init/main.c, call known. (A name whose code Debian's config leaves
/// out is still listed: the model cannot tell, and such an option is then taken as known without effect.)
/// White space separates the names.
/// </summary>
internal static class KnownBootParams
{
    /// <summary>early_param() names of linux-source-6.1.</summary>
    public const string EarlyV6_1 = """
        acpi acpi_apic_instance acpi_force_32bit_fadt_addr acpi_force_table_verification acpi_no_static_ssdt
        acpi_rsdp acpi_sci acpi_skip_timer_override acpi_use_timer_override add_efi_memmap alloc_mptable amd_pstate
        apic apic_extnmi bgrt_disable boot_delay bootconfig clocksource.arm_arch_timer.evtstrm cma cma_pernuma
        coherent_pool cpu_init_udelay crashkernel debug debug_boot_weak_hash debug_guardpage_minorder debug_objects
        debug_pagealloc debugfs disable_cpu_apicid disable_mtrr_cleanup disable_mtrr_trim disable_timer_pin_1
        disableapic early_ioremap_debug early_page_ext earlycon earlyprintk efi efi_fake_mem efi_no_storage_paranoia
        ekgdboc elfcorehdr enable_mtrr_cleanup fw_devlink fw_devlink.strict gart_fix_e820 gather_data_sampling
        highmem hostname hugetlb_cma hv_nopvspin idle ignore_loglevel indirect_target_selection init_on_alloc
        init_on_free initrd initrdmem intel_pstate intremap io_delay iommu iommu.forcedac iommu.passthrough
        iommu.strict ipcmni_extend irqchip.gicv2_force_probe irqchip.gicv3_nolpi kasan kasan.fault kasan.mode
        kasan.stack_ring_size kasan.stacktrace kasan.vmalloc keep_bootcon kernelcore kgdbcon kgdbdbgp kgdboc_earlycon
        kgdbwait kmemleak l1d_flush l1tf lapic lapic_timer_c2_ok lockdown log_buf_len loglevel lsmsi maxcpus mds mem
        memblock memmap memory_corruption_check memory_corruption_check_period memory_corruption_check_size memtest
        mitigations mminit_loglevel mmio_stale_data movable_node movablecore mtrr_chunk_size mtrr_cleanup_debug
        mtrr_gran_size mtrr_spare_reg_nr no-kvmapf no-kvmclock no-kvmclock-vsyscall no-steal-acc no-vmw-sched-clock
        no_debug_objects no_hash_pointers noapic noapictimer noefi nohugeiomap nohugevmalloc nointremap noinvpcid
        nokgdbroundup nolapic nolapic_timer nopat nopcid nopv nopvspin nosgx nosmp nosmt nospectre_v1 nox2apic
        nr_cpus numa ohci1394_dma oops page_owner page_poison page_table_check panic_on_taint pci percpu_alloc
        possible_cpus proc_mem.force_override quiet random.trust_bootloader random.trust_cpu randomize_kstack_offset
        rdrand reg_file_data_sampling reservetop retbleed rockchip.usb_uart rodata sched_verbose skew_tick
        spec_rstack_overflow spectre_bhi srbds stack_depot_disable swiotlb sysfs.deprecated threadirqs tsa
        tsc_early_khz tsx_async_abort update_mptable userpte uv_memblksize vmalloc vmcp_cma vmscape vsyscall
        x2apic_phys xen_emul_unplug xen_legacy_crash xen_msr_safe xen_no_vector_callback xen_nopv xen_nopvspin
        xen_timer_slop
        """;

    /// <summary>__setup() names of linux-source-6.1 (a name ending in '=' takes a value).</summary>
    public const string SetupV6_1 = """
        BusLogic= TOMOYO_loader= TOMOYO_trigger= acpi_backlight= acpi_enforce_resources= acpi_irq_balance
        acpi_irq_isa= acpi_irq_nobalance acpi_irq_pci= acpi_mask_gpe= acpi_no_auto_serialize acpi_no_memhotplug
        acpi_no_watchdog acpi_os_name= acpi_osi= acpi_pm_good acpi_rev_override acpi_sleep= acpica_no_return_repair
        agp= aha152x= aic79xx= aic7xxx= align_va_addr= alloc_snapshot amd_iommu= amd_iommu_dump amd_iommu_intr=
        aoe_iflist= apicpmtimer apm= apparmor= arcrimi= atascsi= audit= audit_backlog_limit= baycom_epp= baycom_par=
        baycom_ser_fdx= baycom_ser_hdx= bert_disable blkdevparts= ca_keys= cachesize= carrier_timeout= ccw_timeout_log
        cgroup.memory= cgroup_debug cgroup_disable= cgroup_no_v1= checkreqprot= cifsroot= clearcpuid= clk_ignore_unused
        clock= clocksource= com20020= com90io= com90xx= console= console_msg_format= coredump_filter= cpu0_hotplug
        cs89x0_dma= cs89x0_media= csdlock_debug= debug-alternative debug_locks_verbose= debugpat default_hugepagesz=
        deferred_probe_timeout= delayacct devtmpfs.mount= dhash_entries= dhcpclass= dma_debug= dma_debug_driver=
        dma_debug_entries= dmasound= driver_async_probe= dump_apple_properties dyndbg= efivar_ssdt= eisa_irq_edge=
        elanfreq= elevator= enforcing= erst_disable ether= evm= fail_futex= fail_io_timeout= fail_make_request=
        fail_page_alloc= fail_usercopy= failslab= fas216_logging= fb_tunnels= fbcon= fips= floppy= forcepae ftrace=
        ftrace_boot_snapshot ftrace_dump_on_oops ftrace_filter= ftrace_graph_filter= ftrace_graph_max_depth=
        ftrace_graph_notrace= ftrace_notrace= gcov_persist= gpt hardened_usercopy= hashdist= hcheck_dump_tasks
        hcheck_margin hcheck_reboot hcheck_tick hest_disable hibernate= highres= hlt hpet= hpet_mmap= hugepages=
        hugepagesz= hvc_iucv= ibt= ihash_entries= ima_appraise_tcb ima_canonical_fmt ima_hash= ima_policy= ima_tcb
        ima_template= ima_template_fmt= init= init_pkru= initcall_blacklist= initramfs_async= initramfs_options=
        int_pln_enable integrity_audit= intel_iommu= iomem= ip= ips= irqaffinity= irqfixup irqpoll isapnp= isolcpus=
        ivrs_acpihid ivrs_hpet ivrs_ioapic kasan_multi_shot keepinitrd kgdboc= kgdbts= kprobe_event= load_ramdisk=
        lp= lpj= lsm.debug lsm= mac5380= max_loop= mce md= mdacon= mem_sleep_default= memhp_default_state=
        mhash_entries= mphash_entries= mtdparts= ncr53c8xx= netconsole= netdev= nfsaddrs= nfsroot= nfsrootdebug
        nmi_watchdog= no-scroll no_console_suspend no_file_caps no_ipi_broadcast= no_timer_check noaliencache
        noautogroup noexec32= nofsgsbase nohibernate nohlt nohpet nohz= nohz_full= noinitrd noirqdebug noisapnp nomce
        nomodeset nonmi_ipi nopku norandmaps noreplace-smp noresume nosoftlockup notsc nowatchdog ntp_tick_adj=
        numa_balancing= olpc_ec_timeout= parport= parport_init_mode= pci_slot_ignore= pcie_aspm= pcie_pme=
        pcie_port_pm= pcie_ports= pcmv= pd_ignore_unused pirq= plip= pm_debug_messages pmtmr= pnp_reserve_dma=
        pnp_reserve_io= pnp_reserve_irq= pnp_reserve_mem= pnpacpi= pnpbios= preempt= print-fatal-signals=
        printk.devkmsg= profile= prompt_ramdisk= psi= qla1280= raid= ramdisk_size= ramdisk_start= ras rdinit=
        rdt reboot= relax_domain_level= resched_latency_warn_ms= reserve= reset_devices resume= resume_offset=
        resumedelay= resumewait retain_initrd ring3mwait=disable ro root= rootdelay= rootflags= rootfstype= rootwait
        rw sched_thermal_decay_shift= schedstats= sclp_con_drop= sclp_con_pages= security= selinux= serialnumber
        sev= show_lapic= sim710= slab_max_order= slab_merge slab_nomerge slram= slub_debug slub_max_order=
        slub_min_objects= slub_min_order= softlockup_panic= st= stack_guard_gap= stacktrace sti= sti_font= stifb=
        stmmaceth= strict_sas_size swapaccount= sxgbeeth= sysrq_always_enabled tcpmhash_entries= test_suspend
        thash_entries= tp_printk tp_printk_stop_on_boot trace_buf_size= trace_clock= trace_event= trace_options=
        traceoff_on_warning tracing_thresh= transparent_hugepage= tsc= uhash_entries= unknown_nmi_panic uvrtcevt
        vdso32= vdso= video= vm_debug watchdog_thresh= wd33c93= xirc2ps_cs=
        """;

    /// <summary>early_param() names of linux-source-6.12.</summary>
    public const string EarlyV6_12 = """
        accept_memory acpi acpi_apic_instance acpi_force_32bit_fadt_addr acpi_force_table_verification
        acpi_no_static_ssdt acpi_rsdp acpi_sci acpi_skip_timer_override acpi_use_timer_override add_efi_memmap
        alloc_mptable amd_prefcore amd_pstate apic apic_extnmi bgrt_disable boot_delay bootconfig cfi
        clocksource.arm_arch_timer.evtstrm cma cma_pernuma coherent_pool con3215_drop cpu_init_udelay
        cpuhp.parallel crashkernel debug debug_boot_weak_hash debug_guardpage_minorder debug_non_panic_cpus
        debug_objects debug_pagealloc debugfs disable_mtrr_cleanup disable_mtrr_trim disable_timer_pin_1 disableapic
        early_ioremap_debug early_page_ext earlycon earlyprintk efi efi_no_storage_paranoia ekgdboc elfcorehdr
        enable_mtrr_cleanup fw_devlink fw_devlink.strict fw_devlink.sync_state gart_fix_e820 gather_data_sampling
        highmem hostname hugetlb_cma hv_nopvspin ia32_emulation idle ignore_loglevel indirect_target_selection
        init_on_alloc init_on_free initrd initrdmem intel_pstate intremap io_delay iommu iommu.forcedac
        iommu.passthrough iommu.strict ipcmni_extend irqchip.gicv2_force_probe irqchip.gicv3_nolpi kasan kasan.fault
        kasan.mode kasan.page_alloc.sample kasan.page_alloc.sample.order kasan.stack_ring_size kasan.stacktrace
        kasan.vmalloc keep_bootcon kernelcore kgdbcon kgdbdbgp kgdboc_earlycon kgdbwait kmemleak l1d_flush l1tf lapic
        lapic_timer_c2_ok lockdown log_buf_len loglevel lsmsi maxcpus mds mem memblock memmap memory_corruption_check
        memory_corruption_check_period memory_corruption_check_size memtest mitigations mminit_loglevel
        mmio_stale_data movable_node movablecore mtrr mtrr_chunk_size mtrr_gran_size mtrr_spare_reg_nr no-kvmapf
        no-kvmclock no-kvmclock-vsyscall no-steal-acc no-vmw-sched-clock no_debug_objects no_hash_pointers noapic
        noapictimer noefi nohugeiomap nohugevmalloc nointremap noinvpcid nokgdbroundup nolapic nolapic_timer nopat
        nopcid nopti nopv nopvspin nosgx nosmp nosmt nospectre_v1 nox2apic nr_cpus numa numa_cma ohci1394_dma oops
        page_owner page_poison page_table_check panic_on_taint pci percpu_alloc possible_cpus proc_mem.force_override
        pti quiet random.trust_bootloader random.trust_cpu randomize_kstack_offset rdrand reg_file_data_sampling
        reservetop retbleed rockchip.usb_uart rodata sched_verbose skew_tick spec_rstack_overflow spectre_bhi
        srbds stack_depot_disable swiotlb sysctl.vm.mem_profiling thread_backlog_napi threadirqs tsa tsc_early_khz
        tsx_async_abort unwind_debug update_mptable userpte uv_memblksize vmalloc vmcp_cma vmscape vsyscall x2apic_phys
        xen_emul_unplug xen_legacy_crash xen_mc_debug xen_msr_safe xen_no_vector_callback xen_nopv xen_timer_slop
        """;

    /// <summary>__setup() names of linux-source-6.12 (a name ending in '=' takes a value).</summary>
    public const string SetupV6_12 = """
        BusLogic= TOMOYO_loader= TOMOYO_trigger= acpi_backlight= acpi_enforce_resources= acpi_irq_balance
        acpi_irq_isa= acpi_irq_nobalance acpi_irq_pci= acpi_mask_gpe= acpi_no_auto_serialize acpi_no_memhotplug
        acpi_no_watchdog acpi_os_name= acpi_osi= acpi_pm_good acpi_rev_override acpi_sleep= acpica_no_return_repair
        agp= aha152x= aic79xx= aic7xxx= align_va_addr= alloc_snapshot amd_iommu= amd_iommu_dump amd_iommu_intr=
        aoe_iflist= apicpmtimer apm= apparmor= arcrimi= atascsi= audit= audit_backlog_limit= baycom_epp= baycom_par=
        baycom_ser_fdx= baycom_ser_hdx= bdev_allow_write_mounted= bert_disable blkdevparts= ca_keys= cachesize=
        carrier_timeout= ccw_timeout_log cgroup.memory= cgroup_debug cgroup_disable= cgroup_favordynmods=
        cgroup_no_v1= checkreqprot= cifsroot= clearcpuid= clk_ignore_unused clock= clocksource= com20020=
        com90io= com90xx= console= console_msg_format= coredump_filter= cs89x0_dma= cs89x0_media= csdlock_debug=
        debug-alternative debug-callthunks debug_locks_verbose= debugpat default_hugepagesz= deferred_probe_timeout=
        delayacct devtmpfs.mount= dhash_entries= dhcpclass= dma_debug= dma_debug_driver= dma_debug_entries= dmasound=
        driver_async_probe= dump_apple_properties dyndbg= efivar_ssdt= eisa_irq_edge= elanfreq= elevator= enforcing=
        erst_disable ether= evm= fail_futex= fail_io_timeout= fail_make_request= fail_page_alloc= fail_usercopy=
        failslab= fas216_logging= fb_tunnels= fbcon= fips= floppy= forcepae ftrace= ftrace_boot_snapshot
        ftrace_dump_on_oops ftrace_filter= ftrace_graph_filter= ftrace_graph_max_depth= ftrace_graph_notrace=
        ftrace_notrace= gcov_persist= gpt hardened_usercopy= hashdist= hcheck_dump_tasks hcheck_margin hcheck_reboot
        hcheck_tick hest_disable hibernate= highres= hlt hpet= hpet_mmap= hugepages= hugepagesz= hvc_iucv=
        i2c_touchscreen_props= ibt= ihash_entries= ima_appraise_tcb ima_canonical_fmt ima_hash= ima_policy= ima_tcb
        ima_template= ima_template_fmt= init= init_pkru= initcall_blacklist= initramfs_async= initramfs_options=
        int_pln_enable integrity_audit= intel_iommu= iomem= ip= ips= irqaffinity= irqfixup irqpoll isapnp= isolcpus=
        ivrs_acpihid ivrs_hpet ivrs_ioapic kasan_multi_shot keepinitrd kgdboc= kgdbts= kprobe_event= load_ramdisk= lp=
        lpj= lsm.debug lsm= mac5380= max_loop= mce md= mdacon= mem_sleep_default= memhp_default_state= mhash_entries=
        mphash_entries= mtdparts= ncr53c8xx= netconsole= netdev= nfsaddrs= nfsroot= nfsrootdebug nmi_watchdog=
        no-scroll no_console_suspend no_file_caps no_ipi_broadcast= no_timer_check noautogroup noexec32= nofsgsbase
        nohibernate nohlt nohpet nohz= nohz_full= noinitrd noirqdebug noisapnp nomce nomodeset nonmi_ipi nopku
        norandmaps noreplace-smp noresume nosoftlockup notsc nowatchdog ntp_tick_adj= numa_balancing= olpc_ec_timeout=
        parport= parport_init_mode= pci_slot_ignore= pcie_aspm= pcie_pme= pcie_port_pm= pcie_ports= pd_ignore_unused
        pirq= plip= pm_debug_messages pmtmr= pnp_reserve_dma= pnp_reserve_io= pnp_reserve_irq= pnp_reserve_mem=
        pnpacpi= pnpbios= preempt= print-fatal-signals= printk.devkmsg= profile= prompt_ramdisk= psi= qla1280=
        raid= ramdisk_size= ramdisk_start= ras rdinit= rdt reboot= regulator_ignore_unused relax_domain_level=
        resched_latency_warn_ms= reserve= reserve_mem= reset_devices resume= resume_offset= resumedelay= resumewait
        retain_initrd ring3mwait=disable ro root= rootdelay= rootflags= rootfstype= rootwait rootwait= rw s390_iommu=
        s390_iommu_aperture= sched_thermal_decay_shift= schedstats= sclp_con_drop= sclp_con_pages= security=
        selinux= serialnumber sev= show_lapic= sim710= slab_debug slab_max_order= slab_merge slab_min_objects=
        slab_min_order= slab_nomerge slram= softlockup_panic= st= stack_guard_gap= stacktrace sti= sti_font= stifb=
        stmmaceth= strict_sas_size swapaccount= sxgbeeth= sysrq_always_enabled tcpmhash_entries= test_suspend
        thash_entries= thp_anon= tp_printk tp_printk_stop_on_boot trace_buf_size= trace_clock= trace_event=
        trace_instance= trace_options= trace_trigger= traceoff_on_warning tracing_thresh= transparent_hugepage=
        tsc= uhash_entries= unknown_nmi_panic uvrtcevt vdso32= vdso= video= vm_debug watchdog_thresh= wd33c93=
        workqueue.unbound_cpus= xirc2ps_cs=
        """;

}
