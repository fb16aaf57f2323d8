nav-alerts = การแจ้งเตือน
nav-maintenance = การบำรุงรักษา
maintenance-for-zone = วางแผนบำรุงรักษาโซนนี้
