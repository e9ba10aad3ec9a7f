//! Paging arithmetic shared by the lists that show a page at a time.

/// Page `asked` (from 1) of `total` items, `per` a page: the page shown (a page past the end
/// shows the last), the number of pages, and how many items come before the page.
pub fn page_of(asked: Option<usize>, total: usize, per: usize) -> (usize, usize, usize) {
    let pages = total.div_ceil(per.max(1)).max(1);
    let page = asked.unwrap_or(1).clamp(1, pages);
    (page, pages, (page - 1) * per)
}

#[cfg(test)]
mod tests {
    use super::page_of;

    #[test]
    fn a_page_past_the_end_shows_the_last() {
        assert_eq!(page_of(None, 0, 50), (1, 1, 0));
        assert_eq!(page_of(Some(2), 120, 50), (2, 3, 50));
        assert_eq!(page_of(Some(9), 120, 50), (3, 3, 100));
        assert_eq!(page_of(Some(0), 120, 50), (1, 3, 0));
    }
}
