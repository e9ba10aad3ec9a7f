//! The database schema, written by hand with portable column types only so the same
//! definitions serve SQLite and PostgreSQL. Keep it in step with both migration folders.

diesel::table! {
    areas (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        active -> Bool,
        created_at -> Timestamp,
        intake_email -> Nullable<Text>,
        pending_intake_email -> Nullable<Text>,
        pending_intake_token_hash -> Nullable<Text>,
        pending_intake_expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    area_populations (area_id, year) {
        area_id -> Text,
        year -> Integer,
        adults -> BigInt,
        source -> Text,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    organisations (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        role -> Text,
        organisation_id -> Text,
        hcpc_number -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        password_changed_at -> Nullable<Timestamp>,
        mfa_state -> Text,
        totp_secret -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
        vetting_level -> Nullable<Text>,
        vetting_expires_on -> Nullable<Date>,
        disabled_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        service_wide -> Bool,
    }
}

diesel::table! {
    user_areas (user_id, area_id) {
        user_id -> Text,
        area_id -> Text,
    }
}

diesel::table! {
    user_area_history (user_id, area_id, from_date) {
        user_id -> Text,
        area_id -> Text,
        from_date -> Date,
        to_date -> Nullable<Date>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        stage -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        flash -> Nullable<Text>,
        ended_at -> Nullable<Timestamp>,
        ended_reason -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_attempts (id) {
        id -> Text,
        email -> Text,
        ip -> Text,
        at -> Timestamp,
        succeeded -> Bool,
        outcome -> Text,
        device -> Nullable<Text>,
    }
}

diesel::table! {
    known_devices (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Text,
        user_id -> Text,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        user_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        id -> Text,
        at -> Timestamp,
        actor_user_id -> Nullable<Text>,
        actor_label -> Text,
        action -> Text,
        event -> Text,
        record_type -> Nullable<Text>,
        record_id -> Nullable<Text>,
        reason -> Nullable<Text>,
        ip -> Nullable<Text>,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    people (id) {
        id -> Text,
        given_name -> Text,
        family_name -> Text,
        date_of_birth -> Date,
        sex -> Text,
        gender_identity -> Text,
        ethnicity -> Nullable<Text>,
        pnc_id -> Nullable<Text>,
        crn -> Nullable<Text>,
        area_id -> Text,
        gp_practice -> Nullable<Text>,
        communication_needs -> Nullable<Text>,
        interpreter_needed -> Bool,
        language -> Nullable<Text>,
        merged_into_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        erased_at -> Nullable<Timestamp>,
    }
}

// Each person's names as one lower-case text, " given family / family given ", under the
// person whose referrals it leads to (a merged record's, under the one it was merged into),
// behind a trigram index: on SQLite a full-text table kept by triggers, on PostgreSQL a
// view over `people` with a `pg_trgm` index (migration 000038). Read only, with LIKE.
diesel::table! {
    people_names (person_id) {
        person_id -> Text,
        name -> Text,
    }
}

diesel::table! {
    report_version (id) {
        id -> Integer,
        version -> BigInt,
    }
}

diesel::table! {
    referrals (id) {
        id -> Text,
        reference -> Text,
        person_id -> Text,
        area_id -> Text,
        entry_point -> Text,
        status -> Text,
        version -> BigInt,
        created_by -> Text,
        responsible_officer_id -> Nullable<Text>,
        assessor_id -> Nullable<Text>,
        allocated_ap_id -> Nullable<Text>,
        offence_category -> Text,
        urgency -> Text,
        details -> Text,
        idempotency_key -> Nullable<Text>,
        submitted_at -> Timestamp,
        updated_at -> Timestamp,
        sentence_date -> Nullable<Date>,
        requirement_end_date -> Nullable<Date>,
        combined_with -> Nullable<Text>,
        retention_review_on -> Nullable<Date>,
        erased_at -> Nullable<Timestamp>,
        erased_by -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    referral_status_history (id) {
        id -> Text,
        referral_id -> Text,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        actor_user_id -> Nullable<Text>,
        actor_name -> Text,
        at -> Timestamp,
        summary -> Text,
        details -> Text,
    }
}

diesel::table! {
    referral_amendments (id) {
        id -> Text,
        referral_id -> Text,
        field -> Text,
        field_label -> Text,
        old_value -> Text,
        new_value -> Text,
        reason -> Text,
        actor_user_id -> Nullable<Text>,
        actor_name -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    person_merges (id) {
        id -> Text,
        kept_person_id -> Text,
        merged_person_id -> Text,
        referral_ids -> Text,
        merged_by -> Text,
        merged_at -> Timestamp,
        undone_by -> Nullable<Text>,
        undone_at -> Nullable<Timestamp>,
        contact_moved -> Bool,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    identity_links (id) {
        id -> Text,
        referral_id -> Text,
        person_id -> Text,
        matched_person_id -> Text,
        identifier -> Text,
        details_agree -> Bool,
        status -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        decision_reason -> Nullable<Text>,
    }
}

diesel::table! {
    referral_drafts (id) {
        id -> Text,
        created_by -> Text,
        data -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    outbox_messages (id) {
        id -> Text,
        message_id -> Text,
        kind -> Text,
        recipient -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notification_opt_outs (user_id, kind) {
        user_id -> Text,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    vetting_reminders (user_id, expires_on) {
        user_id -> Text,
        expires_on -> Date,
        queued_at -> Timestamp,
    }
}

diesel::table! {
    weekly_digests (user_id, week_start) {
        user_id -> Text,
        week_start -> Date,
        queued_at -> Timestamp,
    }
}

diesel::table! {
    practitioner_capacity (user_id) {
        user_id -> Text,
        sessions_per_week -> Integer,
        working_days -> Text,
        updated_by -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    service_closures (id) {
        id -> Text,
        day -> Date,
        description -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    session_plans (referral_id) {
        referral_id -> Text,
        cadence -> Text,
        minutes -> Integer,
        mode -> Text,
        location -> Nullable<Text>,
        target_sessions -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        measures -> Text,
    }
}

diesel::table! {
    treatment_sessions (id) {
        id -> Text,
        referral_id -> Text,
        area_id -> Text,
        ap_user_id -> Text,
        starts_at -> Timestamp,
        minutes -> Integer,
        mode -> Text,
        location -> Nullable<Text>,
        status -> Text,
        outcome -> Nullable<Text>,
        engagement_notes -> Nullable<Text>,
        summary_for_ro -> Nullable<Text>,
        recorded_by -> Nullable<Text>,
        recorded_at -> Nullable<Timestamp>,
        change_party -> Nullable<Text>,
        change_reason -> Nullable<Text>,
        cancel_reason -> Nullable<Text>,
        changed_by -> Nullable<Text>,
        changed_at -> Nullable<Timestamp>,
        replaces_id -> Nullable<Text>,
        added_for_id -> Nullable<Text>,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        unrecorded_notified_at -> Nullable<Timestamp>,
        absence_reason -> Nullable<Text>,
        evidence_due -> Nullable<Date>,
    }
}

diesel::table! {
    ap_bookings (ap_user_id, block_start) {
        ap_user_id -> Text,
        block_start -> Timestamp,
        session_id -> Text,
    }
}

diesel::table! {
    outcome_measures (id) {
        id -> Text,
        referral_id -> Text,
        session_id -> Text,
        instrument -> Text,
        stage -> Text,
        answers -> Text,
        total -> Integer,
        risk -> Bool,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    risk_alerts (id) {
        id -> Text,
        referral_id -> Text,
        area_id -> Text,
        measure_id -> Text,
        raised_at -> Timestamp,
        acknowledged_by -> Nullable<Text>,
        acknowledged_at -> Nullable<Timestamp>,
        action_taken -> Nullable<Text>,
        kind -> Text,
    }
}

diesel::table! {
    practitioner_reports (id) {
        id -> Text,
        referral_id -> Text,
        kind -> Text,
        note -> Text,
        written_by -> Text,
        written_at -> Timestamp,
    }
}

diesel::table! {
    practitioner_capacity_history (user_id, effective_from) {
        user_id -> Text,
        effective_from -> Date,
        sessions_per_week -> Integer,
        working_days -> Text,
    }
}

diesel::table! {
    practitioner_leave (id) {
        id -> Text,
        user_id -> Text,
        starts_on -> Date,
        ends_on -> Date,
        note -> Nullable<Text>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    session_notes (session_id, version) {
        session_id -> Text,
        version -> Integer,
        referral_id -> Text,
        body -> Nullable<Text>,
        written_by -> Text,
        written_at -> Timestamp,
    }
}

diesel::table! {
    attendance_corrections (id) {
        id -> Text,
        session_id -> Text,
        referral_id -> Text,
        old_outcome -> Text,
        old_absence_reason -> Nullable<Text>,
        new_outcome -> Text,
        new_absence_reason -> Nullable<Text>,
        reason -> Nullable<Text>,
        corrected_by -> Text,
        corrected_at -> Timestamp,
    }
}

diesel::table! {
    enforcement_reviews (id) {
        id -> Text,
        referral_id -> Text,
        area_id -> Text,
        session_id -> Text,
        earlier_session_id -> Nullable<Text>,
        after_warning_id -> Nullable<Text>,
        flagged_at -> Timestamp,
        decision -> Nullable<Text>,
        action_on -> Nullable<Date>,
        note -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        withdrawn_at -> Nullable<Timestamp>,
        withdrawn_by -> Nullable<Text>,
        withdrawn_reason -> Nullable<Text>,
    }
}

diesel::table! {
    calendar_feeds (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    referral_events (id) {
        id -> Text,
        referral_id -> Text,
        kind -> Text,
        clinical -> Bool,
        actor_user_id -> Nullable<Text>,
        actor_name -> Text,
        at -> Timestamp,
        summary -> Text,
    }
}

diesel::table! {
    report_facts (referral_id) {
        referral_id -> Text,
        area_id -> Text,
        entry_point -> Text,
        status -> Text,
        referred_on -> Date,
        sex -> Text,
        ethnic_group -> Nullable<Text>,
        age_band -> Text,
        screened_on -> Nullable<Date>,
        accepted -> Bool,
        assessed_on -> Nullable<Date>,
        suitable -> Bool,
        consented_on -> Nullable<Date>,
        sentenced_on -> Nullable<Date>,
        order_made -> Bool,
        combined_with -> Nullable<Text>,
        first_session_on -> Nullable<Date>,
        ended_on -> Nullable<Date>,
        end_outcome -> Nullable<Text>,
        end_reason -> Nullable<Text>,
        withdrawn -> Bool,
        sessions_attended -> Integer,
        sessions_missed -> Integer,
        phq9_first -> Nullable<Integer>,
        phq9_last -> Nullable<Integer>,
        gad7_first -> Nullable<Integer>,
        gad7_last -> Nullable<Integer>,
        core10_first -> Nullable<Integer>,
        core10_last -> Nullable<Integer>,
        signposted_types -> Text,
    }
}

diesel::table! {
    report_cube (area_id, month, indicator) {
        area_id -> Text,
        month -> Date,
        indicator -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    report_cube_waits (area_id, month, kind, days) {
        area_id -> Text,
        month -> Date,
        kind -> Integer,
        days -> Integer,
        n -> BigInt,
    }
}

diesel::table! {
    report_referral_months (referral_id, month) {
        referral_id -> Text,
        month -> Date,
        area_id -> Text,
        booked -> Integer,
        delivered -> Integer,
        missed -> Integer,
    }
}

diesel::table! {
    report_area_months (area_id, month) {
        area_id -> Text,
        month -> Date,
        booked -> Integer,
        delivered -> Integer,
        missed -> Integer,
    }
}

diesel::table! {
    linked_requirements (id) {
        id -> Text,
        referral_id -> Text,
        kind -> Text,
        provider -> Text,
        treatment_director -> Text,
        key_contact -> Nullable<Text>,
        start_date -> Date,
        end_date -> Date,
        sequencing -> Text,
        status -> Text,
        activated_at -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    linked_activity (id) {
        id -> Text,
        linked_requirement_id -> Text,
        on_date -> Date,
        kind -> Text,
        note -> Text,
        entered_by -> Text,
        entered_via -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    directory_services (id) {
        id -> Text,
        name -> Text,
        service_type -> Text,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        website -> Nullable<Text>,
        address -> Nullable<Text>,
        active -> Bool,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    directory_service_areas (service_id, area_id) {
        service_id -> Text,
        area_id -> Text,
    }
}

diesel::table! {
    signpostings (id) {
        id -> Text,
        referral_id -> Text,
        service_id -> Text,
        signposted_on -> Date,
        status -> Text,
        reason -> Nullable<Text>,
        follow_up_on -> Nullable<Date>,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    no_onward_support (referral_id) {
        referral_id -> Text,
        reason -> Text,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    end_summaries (referral_id) {
        referral_id -> Text,
        summary -> Text,
        written_by -> Text,
        written_at -> Timestamp,
    }
}

diesel::table! {
    deferred_indexes (name) {
        name -> Text,
        table_name -> Text,
        definition -> Text,
        deferred_at -> Timestamp,
    }
}

diesel::table! {
    import_batches (id) {
        id -> Text,
        source_system -> Text,
        mapping -> Text,
        checksum -> Text,
        started_by -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        summary -> Text,
    }
}

diesel::table! {
    import_rows (source_system, kind, source_id) {
        source_system -> Text,
        kind -> Text,
        source_id -> Text,
        batch_id -> Text,
        target_table -> Text,
        target_id -> Text,
        outcome -> Text,
    }
}

diesel::table! {
    retention_decisions (id) {
        id -> Text,
        referral_id -> Text,
        decision -> Text,
        reason -> Text,
        next_review_on -> Nullable<Date>,
        decided_by -> Text,
        decided_at -> Timestamp,
    }
}

diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(user_areas -> users (user_id));
diesel::joinable!(user_areas -> areas (area_id));
diesel::joinable!(user_area_history -> users (user_id));
diesel::joinable!(user_area_history -> areas (area_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(known_devices -> users (user_id));
diesel::joinable!(people -> areas (area_id));
diesel::joinable!(area_populations -> areas (area_id));
diesel::joinable!(referrals -> people (person_id));
diesel::joinable!(referrals -> areas (area_id));
diesel::joinable!(referral_status_history -> referrals (referral_id));
diesel::joinable!(referral_amendments -> referrals (referral_id));
diesel::joinable!(notification_opt_outs -> users (user_id));
diesel::joinable!(vetting_reminders -> users (user_id));
diesel::joinable!(weekly_digests -> users (user_id));
diesel::joinable!(treatment_sessions -> referrals (referral_id));
diesel::joinable!(session_plans -> referrals (referral_id));
diesel::joinable!(outcome_measures -> treatment_sessions (session_id));
diesel::joinable!(risk_alerts -> referrals (referral_id));
diesel::joinable!(enforcement_reviews -> referrals (referral_id));
diesel::joinable!(practitioner_reports -> referrals (referral_id));
diesel::joinable!(referral_events -> referrals (referral_id));
diesel::joinable!(retention_decisions -> referrals (referral_id));
diesel::joinable!(calendar_feeds -> users (user_id));
diesel::joinable!(practitioner_capacity -> users (user_id));
diesel::joinable!(directory_service_areas -> directory_services (service_id));
diesel::joinable!(signpostings -> directory_services (service_id));
diesel::joinable!(signpostings -> referrals (referral_id));
diesel::joinable!(linked_requirements -> referrals (referral_id));
diesel::joinable!(linked_activity -> linked_requirements (linked_requirement_id));

diesel::table! {
    contact_details (person_id) {
        person_id -> Text,
        mobile -> Nullable<Text>,
        email -> Nullable<Text>,
        address -> Nullable<Text>,
        channel -> Text,
        language -> Text,
        do_not_contact -> Bool,
        do_not_contact_reason -> Nullable<Text>,
        reminders_consent_on -> Nullable<Date>,
        version -> BigInt,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    reminder_templates (kind, language) {
        kind -> Text,
        language -> Text,
        subject -> Text,
        body -> Text,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    reminders (id) {
        id -> Text,
        session_id -> Text,
        referral_id -> Text,
        person_id -> Text,
        area_id -> Text,
        kind -> Text,
        slot -> Text,
        channel -> Text,
        language -> Text,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        for_starts_at -> Timestamp,
        status -> Text,
        attempts -> Integer,
        due_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        provider_id -> Nullable<Text>,
        delivery -> Nullable<Text>,
        checked_at -> Nullable<Timestamp>,
        fallback_of -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    reminder_confirmations (session_id) {
        session_id -> Text,
        reminder_id -> Nullable<Text>,
        confirmed_at -> Timestamp,
    }
}

diesel::table! {
    quality_facts (referral_id) {
        referral_id -> Text,
        reference -> Text,
        area_id -> Text,
        organisation_id -> Text,
        month -> Date,
        person_id -> Text,
        applies -> Integer,
        missing -> Integer,
        bad -> Integer,
    }
}

diesel::table! {
    quality_counts (area_id, organisation_id, applies, missing, bad) {
        area_id -> Text,
        organisation_id -> Text,
        applies -> Integer,
        missing -> Integer,
        bad -> Integer,
        records -> Integer,
    }
}

diesel::table! {
    quality_month_counts (month, area_id, organisation_id, applies, missing, bad) {
        month -> Date,
        area_id -> Text,
        organisation_id -> Text,
        applies -> Integer,
        missing -> Integer,
        bad -> Integer,
        records -> Integer,
    }
}

diesel::table! {
    quality_conflicts (person_id) {
        person_id -> Text,
        pnc_id -> Nullable<Text>,
        crn -> Nullable<Text>,
        date_of_birth -> Date,
    }
}

diesel::table! {
    capacity_referral_weeks (referral_id, ap_user_id, week) {
        referral_id -> Text,
        ap_user_id -> Text,
        week -> Date,
        booked -> Integer,
    }
}

diesel::table! {
    capacity_weeks (ap_user_id, week) {
        ap_user_id -> Text,
        week -> Date,
        booked -> Integer,
    }
}

diesel::table! {
    capacity_waiting (referral_id) {
        referral_id -> Text,
        area_id -> Text,
        since -> Date,
        reference -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    area_populations,
    practitioner_capacity_history,
    areas,
    organisations,
    users,
    user_areas,
    user_area_history,
    sessions,
    api_tokens,
    sign_in_attempts,
    known_devices,
    recovery_codes,
    invitations,
    audit_events,
    people,
    referrals,
    referral_status_history,
    referral_amendments,
    referral_drafts,
    person_merges,
    identity_links,
    audit_head,
    outbox_messages,
    notification_opt_outs,
    vetting_reminders,
    weekly_digests,
    practitioner_capacity,
    service_closures,
    session_plans,
    treatment_sessions,
    ap_bookings,
    outcome_measures,
    risk_alerts,
    practitioner_reports,
    enforcement_reviews,
    attendance_corrections,
    session_notes,
    practitioner_leave,
    calendar_feeds,
    referral_events,
    report_facts,
    report_referral_months,
    report_area_months,
    report_cube,
    report_cube_waits,
    linked_requirements,
    linked_activity,
    directory_services,
    directory_service_areas,
    signpostings,
    no_onward_support,
    end_summaries,
    deferred_indexes,
    quality_facts,
    quality_counts,
    quality_month_counts,
    quality_conflicts,
    capacity_referral_weeks,
    capacity_weeks,
    capacity_waiting,
    import_batches,
    import_rows,
    retention_decisions,
    contact_details,
    reminder_templates,
    reminders,
    reminder_confirmations,
    people_names,
);
